/**
 * Whether one watched resource is in sync with the API server. "Synced" means the last list
 * succeeded and a watch is open now. The informer's own `connect` event and `start()` promise say
 * nothing of this (both happen whether or not the list works), so the health is fed from the list
 * function and the watch request themselves.
 */
export class SyncHealth {
  #listOk = false;
  #watching = false;
  #everSynced = false;
  /** When `synced` last changed (or the start, before it ever did). */
  #since: number;
  #lastError: string | undefined;
  #lists = 0;
  #listFailures = 0;
  #watchFailures = 0;
  #events = 0;

  constructor(startedAtMs: number) {
    this.#since = startedAtMs;
  }

  get synced(): boolean {
    return this.#listOk && this.#watching;
  }

  get everSynced(): boolean {
    return this.#everSynced;
  }

  listSucceeded(nowMs: number): void {
    this.#lists += 1;
    this.#update(true, this.#watching, nowMs);
  }

  listFailed(nowMs: number, message: string): void {
    this.#listFailures += 1;
    this.#lastError = message;
    this.#update(false, this.#watching, nowMs);
  }

  watchOpened(nowMs: number): void {
    this.#update(this.#listOk, true, nowMs);
  }

  /** The watch ended; `message` when it ended in an error rather than a normal close. */
  watchClosed(nowMs: number, message?: string): void {
    if (message !== undefined) {
      this.#watchFailures += 1;
      this.#lastError = message;
    }
    this.#update(this.#listOk, false, nowMs);
  }

  eventReceived(): void {
    this.#events += 1;
  }

  /** How long this resource has been out of sync; 0 while synced. */
  unsyncedForMs(nowMs: number): number {
    return this.synced ? 0 : Math.max(0, nowMs - this.#since);
  }

  /** The last moment the resource was known to be in sync: now while synced, undefined if never. */
  lastHealthyAt(nowMs: number): number | undefined {
    if (this.synced) return nowMs;
    return this.#everSynced ? this.#since : undefined;
  }

  snapshot(nowMs: number): Record<string, unknown> {
    const lastHealthyAt = this.lastHealthyAt(nowMs);
    return {
      synced: this.synced,
      everSynced: this.#everSynced,
      lastHealthyAt: lastHealthyAt === undefined ? null : new Date(lastHealthyAt).toISOString(),
      unsyncedForMs: this.unsyncedForMs(nowMs),
      lists: this.#lists,
      listFailures: this.#listFailures,
      watchFailures: this.#watchFailures,
      events: this.#events,
      lastError: this.#lastError ?? null,
    };
  }

  #update(listOk: boolean, watching: boolean, nowMs: number): void {
    const before = this.synced;
    this.#listOk = listOk;
    this.#watching = watching;
    if (this.synced === before) return;
    this.#since = nowMs;
    if (this.synced) this.#everSynced = true;
  }
}

/**
 * How far the view can be trusted: `unsynced` until every resource has synced once, `stale` while
 * one has been out of sync longer than the limit, else `fresh` (short reconnects included).
 */
export type Freshness =
  | { readonly state: 'fresh' }
  | { readonly state: 'unsynced' }
  | { readonly state: 'stale'; readonly forMs: number };

export function freshness(healths: Iterable<SyncHealth>, nowMs: number, staleAfterMs: number): Freshness {
  let worst = 0;
  for (const health of healths) {
    if (!health.everSynced) return { state: 'unsynced' };
    worst = Math.max(worst, health.unsyncedForMs(nowMs));
  }
  return worst > staleAfterMs ? { state: 'stale', forMs: worst } : { state: 'fresh' };
}
