import type { Config } from '../config.js';
import { jwksPath, jwksRoute, type JwksResponse } from './jwks-route.js';
import { AssertionKeys, type KeyLog } from './key-files.js';
import { AssertionSigner } from './signer.js';

export { jwksPath, jwksRoute, type JwksResponse } from './jwks-route.js';
export { AssertionKeys, defaultSkewSeconds, type AssertionKeysOptions, type KeyLog } from './key-files.js';
export { KeyRing } from './key-ring.js';
export { AssertionSigner, type AllowDecision, type AssertionSignerOptions } from './signer.js';

/**
 * The environment variable that carries a generated key from a cluster primary to its workers
 * (`cluster.fork(env)`), so every worker signs with the one key the primary serves.
 */
export const generatedKeyEnv = 'GATEHOUSE_ASSERTION_GENERATED_KEY';

export interface Assertions {
  /** For `CheckDeps.assertions` (a standalone server or a worker). */
  readonly minter: AssertionSigner;
  /** For `HttpHandlers.routes` (a standalone server or a primary): the key set at `/.well-known/jwks.json`. */
  readonly routes: ReadonlyMap<string, () => JwksResponse>;
  readonly keys: AssertionKeys;
  /** For a primary's `cluster.fork(env)`: the generated key, when there is no key file; else `{}`. */
  workerEnv(): Record<string, string>;
  /** Stops watching the key files. */
  close(): void;
}

export interface AssertionDeps {
  readonly log?: KeyLog;
  /** In a worker: `process.env[generatedKeyEnv]`, the key its primary generated. */
  readonly generatedKeyPem?: string;
  /** Epoch milliseconds, for key retention. */
  readonly now?: () => number;
  readonly pollIntervalMs?: number;
}

/**
 * Loads the keys and starts watching their files; undefined when assertions are off. Throws a
 * config error when a key file is missing, unreadable or not a usable key.
 */
export async function startAssertions(config: Config['response']['assertion'], deps: AssertionDeps = {}): Promise<Assertions | undefined> {
  if (!config.enabled) return undefined;
  const keys = await AssertionKeys.load({
    keyFile: config.keyFile,
    publishKeyFiles: config.publishKeyFiles,
    ttlSeconds: config.ttlSeconds,
    generatedKeyPem: deps.generatedKeyPem,
    log: deps.log,
    now: deps.now,
    pollIntervalMs: deps.pollIntervalMs,
  });
  keys.start();
  const minter = new AssertionSigner(keys.ring, { issuer: config.issuer, ttlSeconds: config.ttlSeconds, services: config.services });
  return {
    minter,
    routes: new Map([[jwksPath, jwksRoute(keys)]]),
    keys,
    workerEnv: (): Record<string, string> => {
      const pem = keys.generatedKeyPem();
      return pem === undefined ? {} : { [generatedKeyEnv]: pem };
    },
    close: () => keys.close(),
  };
}
