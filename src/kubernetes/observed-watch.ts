import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { slim, type WatchedResource } from './object-metadata.js';

export interface WatchHooks {
  stopped(): boolean;
  opened(): void;
  closed(err: unknown): void;
  event(): void;
}

export /**
 * client-node's Watch, observed: a request that returns without having ended has had its 200
 * and is streaming, which is the only reliable sign that the watch is connected. It also asks
 * for bookmarks, trims objects to the metadata the view keeps, and never throws (a throw here
 * would be an unhandled rejection inside ListWatch).
 */
class ObservedWatch extends Watch {
  constructor(
    kc: KubeConfig,
    private readonly resource: WatchedResource,
    private readonly hooks: WatchHooks,
  ) {
    super(kc);
  }

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    // ListWatch does not look at its stop flag after a reconnect delay.
    if (this.hooks.stopped()) return new AbortController();
    let ended = false;
    const finish = (err: unknown): void => {
      ended = true;
      this.hooks.closed(err);
      done(err);
    };
    const observe = (phase: string, obj: unknown, raw?: unknown): void => {
      this.hooks.event();
      const isObject = phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED';
      callback(phase, isObject ? (slim(this.resource, obj) ?? obj) : obj, raw);
    };
    try {
      const controller = await super.watch(path, { ...queryParams, allowWatchBookmarks: true }, observe, finish);
      if (!ended) this.hooks.opened();
      return controller;
    } catch (err) {
      if (!ended) finish(err);
      return new AbortController();
    }
  }
}
