import type { LoggedDecision } from './log-line.js';
import { cellKey } from './access-matrix.js';
import { isSuggestablePath, parentPath, type ObservedPath } from './path-patterns.js';

/** The allowed use of one (principal, actor, service, action) in the window, with the paths it was on. */
export interface AllowedUse {
  readonly principal: string;
  /** The workload that acted for the principal (the log's `actor`); undefined for the principal's own use. */
  readonly actor: string | undefined;
  /** The actor's class the server logged last, when it logged one. */
  readonly actorClass: string | undefined;
  readonly service: string;
  readonly action: string;
  readonly requests: number;
  readonly firstMs: number;
  readonly lastMs: number;
  /** The class the server logged last for a workload principal. */
  readonly class: string | undefined;
  /** Every path seen, or (past the bound) routes standing for what lies under them. */
  readonly paths: readonly ObservedPath[];
  /** The first distinct paths seen, as requests to replay in a test file. */
  readonly examples: readonly string[];
  /** Allowed requests whose path a policy cannot name (cut by the log, or not printable ASCII). */
  readonly unnamedPaths: number;
}

export interface PathLimits {
  readonly maxKeys: number;
  readonly maxPathsPerKey: number;
  readonly maxExamplesPerKey: number;
}

export const defaultPathLimits: PathLimits = Object.freeze({ maxKeys: 100_000, maxPathsPerKey: 256, maxExamplesPerKey: 10 });

interface Entry {
  principal: string;
  actor: string | undefined;
  actorClass: string | undefined;
  service: string;
  action: string;
  requests: number;
  firstMs: number;
  lastMs: number;
  class: string | undefined;
  /** path → whether it stands for what lies under it too. */
  paths: Map<string, boolean>;
  examples: string[];
  unnamedPaths: number;
}

/**
 * Folds allowed decisions into their paths per (principal, actor, service, action), for `report
 * --suggest`. Bounded: past `maxPathsPerKey` distinct paths a key's paths are replaced by their
 * parent routes (standing for everything under them), so it always covers what was seen.
 */
export class PathAggregator {
  private readonly entries = new Map<string, Entry>();
  dropped = 0;

  constructor(private readonly limits: PathLimits = defaultPathLimits) {}

  add(decision: LoggedDecision): void {
    if (decision.decision !== 'allow' || decision.principal === '') return;
    // Use through an actor is its own key: a grant suggested from it names the actor.
    const key = `${cellKey(decision.principal, decision.service, decision.action)}\n${decision.actor ?? ''}`;
    let entry = this.entries.get(key);
    if (entry === undefined) {
      if (this.entries.size >= this.limits.maxKeys) {
        this.dropped += 1;
        return;
      }
      entry = { principal: decision.principal, actor: decision.actor, actorClass: undefined, service: decision.service, action: decision.action, requests: 0, firstMs: decision.timeMs, lastMs: decision.timeMs, class: undefined, paths: new Map(), examples: [], unnamedPaths: 0 };
      this.entries.set(key, entry);
    }
    entry.requests += 1;
    entry.firstMs = Math.min(entry.firstMs, decision.timeMs);
    entry.lastMs = Math.max(entry.lastMs, decision.timeMs);
    if (decision.class !== undefined) entry.class = decision.class;
    if (decision.actorClass !== undefined) entry.actorClass = decision.actorClass;
    if (!isSuggestablePath(decision.path)) {
      entry.unnamedPaths += 1;
      return;
    }
    if (!entry.paths.has(decision.path) && !coveredBelow(entry.paths, decision.path)) {
      entry.paths.set(decision.path, false);
      if (entry.paths.size > this.limits.maxPathsPerKey) entry.paths = coarsen(entry.paths, this.limits.maxPathsPerKey);
    }
    if (entry.examples.length < this.limits.maxExamplesPerKey && !entry.examples.includes(decision.path)) entry.examples.push(decision.path);
  }

  uses(): AllowedUse[] {
    return [...this.entries.values()].map((entry) => ({
      principal: entry.principal,
      actor: entry.actor,
      actorClass: entry.actorClass,
      service: entry.service,
      action: entry.action,
      requests: entry.requests,
      firstMs: entry.firstMs,
      lastMs: entry.lastMs,
      class: entry.class,
      paths: [...entry.paths].map(([path, below]) => ({ path, below })),
      examples: entry.examples,
      unnamedPaths: entry.unnamedPaths,
    }));
  }
}

function coveredBelow(paths: ReadonlyMap<string, boolean>, path: string): boolean {
  for (let at = path; ; at = parentPath(at)) {
    if (paths.get(at) === true) return true;
    if (at === '/') return false;
  }
}

/** Replaces the deepest paths by their parents, standing for everything under them, until at most half the bound is left. */
function coarsen(paths: ReadonlyMap<string, boolean>, max: number): Map<string, boolean> {
  let current = new Map(paths);
  while (current.size > max / 2) {
    const depth = Math.max(...[...current.keys()].map((path) => path.split('/').length));
    const next = new Map<string, boolean>();
    for (const [path, below] of current) {
      if (path.split('/').length === depth && path !== '/') next.set(parentPath(path), true);
      else if (!next.has(path)) next.set(path, below);
    }
    current = new Map([...next].filter(([path]) => !coveredBelow(new Map([...next].filter(([other, below]) => below && other !== path)), path)));
  }
  return current;
}
