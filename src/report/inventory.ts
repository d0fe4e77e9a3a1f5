import { LineCounter, parseDocument } from 'yaml';
import { workloadClasses, type WorkloadClass } from '../core/identity.js';
import { namedService } from '../core/resource.js';
import { SpiffeId } from '../core/spiffe-id.js';
import { readActsFor, readUser, type ActsFor, type InventoryUser } from './inventory-people.js';
import { describe, formatPath, isRecord, quote, reportDuplicates, type FieldPath, type ReportProblem } from './yaml-fields.js';

export type { ActsFor, InventoryUser } from './inventory-people.js';

/** One workload the access review covers (docs/reference.md, "Access review inventory"). */
export interface InventoryWorkload {
  readonly spiffeId: SpiffeId;
  /** As logged and as Cedar names it: `Workload::"spiffe://…"`. */
  readonly principal: string;
  readonly class: WorkloadClass;
  /** From the SPIFFE ID's Kubernetes form, else as the inventory gave it (a label for grouping only). */
  readonly namespace: string | undefined;
  readonly serviceAccount: string | undefined;
  /** Whom it may act for, as the inventory lists them (checked against its users and workloads). */
  readonly actsFor: readonly ActsFor[];
}

export interface InventoryService {
  /** `orders.shop`, as `Service::"orders.shop"`. */
  readonly name: string;
  /** Only the Kubernetes form `NAME.NAMESPACE` names a namespace, as for requests. */
  readonly namespace: string | undefined;
}

export interface Inventory {
  readonly workloads: readonly InventoryWorkload[];
  readonly services: readonly InventoryService[];
  /** People, optional in the file: without them no `User::` row is probed. */
  readonly users: readonly InventoryUser[];
}

export type InventoryResult = { ok: true; inventory: Inventory } | { ok: false; problems: string[] };

type Path = FieldPath;
type Report = ReportProblem;

const workloadKeys: ReadonlySet<string> = new Set(['spiffeId', 'class', 'namespace', 'serviceAccount', 'actsFor']);
const topKeys: ReadonlySet<string> = new Set(['workloads', 'services', 'users']);
// DNS names are at most 253 characters; a service uid is a name as a host gives it.
const maxServiceName = 253;

/**
 * Inventory YAML → a frozen Inventory, or every problem at once as `FILE:LINE: PATH: message`.
 * All or nothing: a review over a half-read inventory would report wrong findings.
 */
export function parseInventory(text: string, file: string): InventoryResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return { ok: false, problems: doc.errors.map((error) => `${file}:${error.linePos?.[0].line ?? 0}:${error.linePos?.[0].col ?? 0}: ${syntaxMessage(error.message)}`) };
  }
  const problems: string[] = [];
  const problem: Report = (path, message) => {
    problems.push(`${file}:${lineOf(doc, lineCounter, path)}: ${formatPath(path)}${message}`);
  };
  const root: unknown = doc.toJS();
  if (!isRecord(root)) {
    problem([], 'the inventory must be a mapping with the keys workloads and services');
    return { ok: false, problems };
  }
  for (const key of Object.keys(root)) if (!topKeys.has(key)) problem([key], 'unknown key (expected workloads, services or users)');
  const workloads = readList(root, 'workloads', problem).flatMap((entry, index) => readWorkload(entry, ['workloads', index], problem).map((value) => ({ index, value })));
  const services = readList(root, 'services', problem).flatMap((entry, index) => readService(entry, ['services', index], problem).map((value) => ({ index, value })));
  const users = (root.users === undefined ? [] : readList(root, 'users', problem)).flatMap((entry, index) => readUser(entry, ['users', index], problem).map((value) => ({ index, value })));
  reportDuplicates(workloads.map(({ index, value }) => ({ index, name: value.principal })), 'workloads', 'spiffeId', problem);
  reportDuplicates(services.map(({ index, value }) => ({ index, name: value.name })), 'services', undefined, problem);
  reportDuplicates(users.map(({ index, value }) => ({ index, name: value.principal })), 'users', 'id', problem);
  checkActsFor(
    workloads.map(({ index, value }) => ({ index, value })),
    users.map(({ value }) => value),
    problem,
  );
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    inventory: Object.freeze({
      workloads: Object.freeze(workloads.map(({ value }) => value)),
      services: Object.freeze(services.map(({ value }) => value)),
      users: Object.freeze(users.map(({ value }) => value)),
    }),
  };
}

/**
 * Each `actsFor` entry must name someone the review can probe: a user of `users`, a group one of
 * them is in, another workload of `workloads`. An entry naming nobody would make the review
 * silently skip the very delegation it was written to check.
 */
function checkActsFor(workloads: readonly { index: number; value: InventoryWorkload }[], users: readonly InventoryUser[], problem: Report): void {
  const userIds = new Set(users.map((user) => user.id));
  const groups = new Set(users.flatMap((user) => user.groups));
  const workloadIds = new Set(workloads.map(({ value }) => value.spiffeId.toString()));
  for (const { index, value } of workloads) {
    value.actsFor.forEach((target, entry) => {
      const at: Path = ['workloads', index, 'actsFor', entry, target.kind];
      switch (target.kind) {
        case 'user':
          if (!userIds.has(target.id)) problem(at, `${quote(target.id)} is not the id of any entry of users`);
          return;
        case 'group':
          if (!groups.has(target.name)) problem(at, `no entry of users is in the group ${quote(target.name)}`);
          return;
        case 'workload': {
          const id = target.spiffeId.toString();
          if (id === value.spiffeId.toString()) problem(at, 'a workload acting for itself is no delegation');
          else if (!workloadIds.has(id)) problem(at, `${quote(id)} is not the spiffeId of any entry of workloads`);
          return;
        }
        default: {
          const never: never = target;
          return never;
        }
      }
    });
  }
}

function readList(root: Record<string, unknown>, key: 'workloads' | 'services' | 'users', problem: Report): unknown[] {
  const value = root[key];
  if (value === undefined) {
    problem([key], 'is missing (an empty list is allowed)');
    return [];
  }
  if (!Array.isArray(value)) {
    problem([key], 'must be a list');
    return [];
  }
  return value;
}

function readWorkload(entry: unknown, path: Path, problem: Report): InventoryWorkload[] {
  if (!isRecord(entry)) {
    problem(path, 'must be a mapping with spiffeId and class');
    return [];
  }
  let found = 0;
  const report: Report = (at, message) => {
    found += 1;
    problem(at, message);
  };
  for (const key of Object.keys(entry)) if (!workloadKeys.has(key)) report([...path, key], 'unknown key (expected spiffeId, class, namespace, serviceAccount or actsFor)');

  let spiffeId: SpiffeId | undefined;
  if (typeof entry.spiffeId !== 'string') report([...path, 'spiffeId'], entry.spiffeId === undefined ? 'is missing' : 'must be a string');
  else {
    const parsed = SpiffeId.parse(entry.spiffeId);
    if (parsed.ok) spiffeId = parsed.value;
    else report([...path, 'spiffeId'], `${parsed.reason} (got ${quote(entry.spiffeId)})`);
  }

  const workloadClass = entry.class;
  if (!isWorkloadClass(workloadClass)) {
    const got = workloadClass === undefined ? 'missing' : `got ${quote(workloadClass)}`;
    report([...path, 'class'], `must be one of ${workloadClasses.join(', ')} (${got})`);
  }
  const namespace = optionalName(entry, 'namespace', path, report);
  const serviceAccount = optionalName(entry, 'serviceAccount', path, report);
  const actsFor = readActsFor(entry.actsFor, [...path, 'actsFor'], report);

  const kubernetes = spiffeId?.kubernetesParts();
  if (kubernetes !== undefined && namespace !== undefined && namespace !== kubernetes.namespace) {
    report([...path, 'namespace'], `${quote(namespace)} disagrees with the SPIFFE ID's namespace ${quote(kubernetes.namespace)}`);
  }
  if (kubernetes !== undefined && serviceAccount !== undefined && serviceAccount !== kubernetes.serviceAccount) {
    report([...path, 'serviceAccount'], `${quote(serviceAccount)} disagrees with the SPIFFE ID's service account ${quote(kubernetes.serviceAccount)}`);
  }
  if (spiffeId === undefined || !isWorkloadClass(workloadClass) || actsFor === undefined || found > 0) return [];
  return [
    Object.freeze({
      spiffeId,
      principal: `Workload::"${spiffeId.toString()}"`,
      class: workloadClass,
      namespace: kubernetes?.namespace ?? namespace,
      serviceAccount: kubernetes?.serviceAccount ?? serviceAccount,
      actsFor: Object.freeze(actsFor),
    }),
  ];
}

function readService(entry: unknown, path: Path, problem: Report): InventoryService[] {
  if (typeof entry !== 'string') {
    problem(path, `must be a service name such as "orders.shop" (got ${describe(entry)})`);
    return [];
  }
  if (entry === '' || entry.length > maxServiceName || /[\s\p{Cc}"]/u.test(entry)) {
    problem(path, `must be a service name such as "orders.shop", without spaces or quotes, at most ${maxServiceName} characters (got ${quote(entry)})`);
    return [];
  }
  const { name, namespace } = namedService(entry);
  return [Object.freeze({ name, namespace })];
}

function optionalName(entry: Record<string, unknown>, key: string, path: Path, problem: Report): string | undefined {
  const value = entry[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' && value !== '') return value;
  problem([...path, key], `must be a non-empty string (got ${describe(value)})`);
  return undefined;
}

function isWorkloadClass(value: unknown): value is WorkloadClass {
  return typeof value === 'string' && (workloadClasses as readonly string[]).includes(value);
}

/** The line of the deepest node of `path` that exists, so a missing key points at its parent. */
function lineOf(doc: ReturnType<typeof parseDocument>, lineCounter: LineCounter, path: Path): number {
  for (let depth = path.length; depth > 0; depth--) {
    const node = doc.getIn(path.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
    if (node?.range) return lineCounter.linePos(node.range[0]).line;
  }
  return 1;
}

/** The yaml library's message without its own position and source excerpt, which the prefix already gives. */
function syntaxMessage(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
}
