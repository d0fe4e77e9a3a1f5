import { cellKey, matrixActions, type Access, type MatrixAction, type Probe, type ProbeAnswer, type ProbedCell } from './access-matrix.js';

/**
 * The answers of one policy set over the inventory, cell by cell. Two of them compare only when
 * they were asked the same representative requests: build both with the other set's policies as
 * `probeSources` (`probeCells`).
 */
export interface ProbedMatrix {
  /** The matrix rows and columns, in the order edges are listed. */
  readonly principals: readonly string[];
  readonly services: readonly string[];
  /** Cells some permit's scope reaches; any other cell denies every request. */
  readonly cells: readonly ProbedCell[];
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
 * Every kind of edge a change can grant or revoke. Delegation (an actor allowed to act for a
 * principal) will be a second kind here once the inventory can name who may act for whom; the
 * renderers switch over `kind`, so adding it makes the compiler list every place to teach.
 */
export type ChangedEdge = AccessEdge;

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
  for (const principal of unique([...after.principals, ...before.principals])) {
    for (const service of unique([...after.services, ...before.services])) {
      for (const action of matrixActions) {
        const key = cellKey(principal, service, action);
        const changes = cellChanges(principal, service, action, oldCells.get(key), newCells.get(key));
        granted.push(...changes.granted);
        revoked.push(...changes.revoked);
      }
    }
  }
  return { granted, revoked };
}

function cellChanges(principal: string, service: string, action: MatrixAction, oldCell: ProbedCell | undefined, newCell: ProbedCell | undefined): AccessDiff {
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
    const edge = (when: Probe | null, changed: readonly string[]): AccessEdge => ({
      kind: 'access',
      principal,
      service,
      action,
      when,
      before,
      after,
      policies: { old: determining(oldAnswers, changed), new: determining(newAnswers, changed) },
    });
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
  return new Map(cells.map((cell) => [cellKey(cell.principal, cell.service, cell.action), cell]));
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
