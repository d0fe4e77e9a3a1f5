import { cellKey, matrixActions, type Access, type MatrixAction, type Probe, type ProbeAnswer, type ProbedCell } from './access-matrix.js';

/**
 * The answers of one policy set over the inventory, cell by cell. Two of them compare only when
 * they were asked the same representative requests: build both with the other set's policies as
 * `probeSources` (`probeCells`).
 */
export interface ProbedMatrix {
  /** The matrix rows (principals, and principals with a workload acting for them) and columns, in the order edges are listed. */
  readonly rows: readonly MatrixRow[];
  readonly services: readonly string[];
  /** Cells some permit's scope reaches; any other cell denies every request. */
  readonly cells: readonly ProbedCell[];
}

/** A principal calling on its own (`actor` absent), or with a workload acting for it. */
export interface MatrixRow {
  readonly principal: string;
  readonly actor?: string;
}

/**
 * One change of who may call what: the caller may now (granted) or no longer (revoked) send
 * `action` to `service`, on every path (`when` null: the cell went from deny to allow or back) or
 * on the representative request `when`.
 */
export interface AccessEdge {
  readonly kind: 'access';
  readonly principal: string;
  readonly service: string;
  readonly action: MatrixAction;
  readonly when: Probe | null;
  /** The cell's access in the old and the new set. */
  readonly before: Access;
  readonly after: Access;
  /**
   * The policies that decided the edge's requests in each set: the permits that allow them, the
   * forbids that deny them; none for a default deny (no permit applies).
   */
  readonly policies: { readonly old: readonly string[]; readonly new: readonly string[] };
}

/**
 * One change of what a workload may do acting for a principal (the inventory's `actsFor`): the
 * principal's requests presented by `actor`, as `context.actor`. Listed only where acting changes
 * the answer: a change the principal's own requests show the same way is their `access` edge.
 */
export interface DelegationEdge extends Omit<AccessEdge, 'kind'> {
  readonly kind: 'delegation';
  readonly actor: string;
}

/** Every kind of edge a change can grant or revoke; the renderers switch over `kind`. */
export type ChangedEdge = AccessEdge | DelegationEdge;

export interface AccessDiff {
  readonly granted: readonly ChangedEdge[];
  readonly revoked: readonly ChangedEdge[];
}

/**
 * The edges granted and revoked from `before` to `after`, in matrix order (principal, service,
 * method). Pure: both matrices must have been built with the same representative requests.
 */
export function diffAccess(before: ProbedMatrix, after: ProbedMatrix): AccessDiff {
  const oldCells = byKey(before.cells);
  const newCells = byKey(after.cells);
  const granted: ChangedEdge[] = [];
  const revoked: ChangedEdge[] = [];
  const rows = new Map([...after.rows, ...before.rows].map((row) => [rowKey(row), row]));
  for (const row of rows.values()) {
    for (const service of unique([...after.services, ...before.services])) {
      for (const action of matrixActions) {
        const key = cellKey(rowKey(row), service, action);
        const changes = cellChanges(row, service, action, oldCells.get(key), newCells.get(key));
        granted.push(...changes.granted);
        revoked.push(...changes.revoked);
      }
    }
  }
  return { granted: withoutEchoes(granted), revoked: withoutEchoes(revoked) };
}

/** Drops each delegation edge that says no more than the principal's own edge: same request, same change, same policies. */
function withoutEchoes(edges: readonly ChangedEdge[]): ChangedEdge[] {
  const gist = (edge: ChangedEdge): string =>
    JSON.stringify([edge.principal, edge.service, edge.action, edge.when === null ? null : probeKey(edge.when), edge.before, edge.after, edge.policies.old, edge.policies.new]);
  const own = new Set(edges.filter((edge) => edge.kind === 'access').map(gist));
  return edges.filter((edge) => edge.kind === 'access' || !own.has(gist(edge)));
}

function cellChanges(row: MatrixRow, service: string, action: MatrixAction, oldCell: ProbedCell | undefined, newCell: ProbedCell | undefined): AccessDiff {
  if (oldCell === undefined && newCell === undefined) return { granted: [], revoked: [] };
  // A cell no permit reaches was not asked: every one of the other set's requests is a default deny.
  const probes = (newCell ?? oldCell)!.answers.map((answer) => answer.probe);
  const oldAnswers = answersByProbe(oldCell, probes);
  const newAnswers = answersByProbe(newCell, probes);
  const before = accessOf(oldAnswers);
  const after = accessOf(newAnswers);
  const edges = (gained: ReadonlyMap<string, ProbeAnswer>, lost: ReadonlyMap<string, ProbeAnswer>, whole: boolean): ChangedEdge[] => {
    const keys = probes.map(probeKey).filter((key) => gained.get(key)!.decision === 'allow' && lost.get(key)!.decision === 'deny');
    if (keys.length === 0) return [];
    const edge = (when: Probe | null, changed: readonly string[]): ChangedEdge => {
      const change = { principal: row.principal, service, action, when, before, after, policies: { old: determining(oldAnswers, changed), new: determining(newAnswers, changed) } };
      return row.actor === undefined ? { kind: 'access', ...change } : { kind: 'delegation', actor: row.actor, ...change };
    };
    return whole ? [edge(null, keys)] : keys.map((key) => edge(gained.get(key)!.probe, [key]));
  };
  return {
    granted: edges(newAnswers, oldAnswers, before === 'deny' && after === 'allow'),
    revoked: edges(oldAnswers, newAnswers, before === 'allow' && after === 'deny'),
  };
}

function answersByProbe(cell: ProbedCell | undefined, probes: readonly Probe[]): Map<string, ProbeAnswer> {
  const answers = new Map(probes.map((probe): [string, ProbeAnswer] => [probeKey(probe), { probe, decision: 'deny', determining: [] }]));
  for (const answer of cell?.answers ?? []) answers.set(probeKey(answer.probe), answer);
  return answers;
}

function accessOf(answers: ReadonlyMap<string, ProbeAnswer>): Access {
  const allowed = [...answers.values()].filter((answer) => answer.decision === 'allow').length;
  return allowed === 0 ? 'deny' : allowed === answers.size ? 'allow' : 'conditional';
}

/** The policies that decided the requests `keys`, each once, in the order first met. */
function determining(answers: ReadonlyMap<string, ProbeAnswer>, keys: readonly string[]): string[] {
  return unique(keys.flatMap((key) => answers.get(key)?.determining ?? []));
}

export function probeKey(probe: Probe): string {
  return JSON.stringify([probe.path, probe.tags.map((tag) => [tag.on, tag.name, tag.value])]);
}

function byKey(cells: readonly ProbedCell[]): Map<string, ProbedCell> {
  return new Map(cells.map((cell) => [cellKey(rowKey(cell), cell.service, cell.action), cell]));
}

function rowKey(row: MatrixRow): string {
  return row.actor === undefined ? row.principal : JSON.stringify([row.actor, row.principal]);
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
