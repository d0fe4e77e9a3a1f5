import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { JSONWebKeySet } from 'jose';
import { ErrorCode, errorMessage, GatehouseError } from '../errors.js';
import { KeyRing } from './key-ring.js';
import { generateSigningKey, publishedKeyFromPem, signingKeyFromPem, type PublishedKey } from './signing-key.js';

export type KeyLog = (level: 'info' | 'warn', message: string, meta: Record<string, unknown>) => void;

export interface AssertionKeysOptions {
  /** PEM private key shared by replicas; '' generates one at start (a single replica only). */
  readonly keyFile: string;
  /** With an empty `keyFile`: the key a cluster primary generated, so that its workers sign alike. */
  readonly generatedKeyPem?: string;
  /** PEM keys served without signing; a missing or empty file serves nothing until it appears. */
  readonly publishKeyFiles: readonly string[];
  readonly ttlSeconds: number;
  /** How long past its last expiry a former signing key is still served. */
  readonly skewSeconds?: number;
  /** How often the files are read for changes. */
  readonly pollIntervalMs?: number;
  /** Epoch milliseconds. */
  readonly now?: () => number;
  readonly log?: KeyLog;
}

/** Past its last assertion's expiry, how long a former signing key is served: the most `clockTolerance` upstreams may use. */
export const defaultSkewSeconds = 30;

const defaults = { skewSeconds: defaultSkewSeconds, pollIntervalMs: 1000 };

/**
 * The assertion keys as the files say: read at start (a bad or missing key file stops the start),
 * then polled, because a Kubernetes Secret update replaces the file behind a symlink, which file
 * watchers miss. A changed key file makes the new key sign from then on; a file that no longer
 * reads or parses is reported and the last good key stays in use.
 */
export class AssertionKeys {
  readonly ring: KeyRing;
  readonly #options: AssertionKeysOptions;
  readonly #now: () => number;
  readonly #log: KeyLog;
  /** What each file held at the last read, as `signature()` says, so only changes are applied and reported. */
  readonly #seen = new Map<string, string>();
  readonly #published = new Map<string, PublishedKey>();
  #timer: NodeJS.Timeout | undefined;
  #reloading: Promise<void> | undefined;

  private constructor(ring: KeyRing, options: AssertionKeysOptions) {
    this.ring = ring;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#log = options.log ?? (() => undefined);
  }

  static async load(options: AssertionKeysOptions): Promise<AssertionKeys> {
    const ringOptions = { ttlSeconds: options.ttlSeconds, skewSeconds: options.skewSeconds ?? defaults.skewSeconds };
    const { keyFile } = options;
    let keys: AssertionKeys;
    if (keyFile === '' && options.generatedKeyPem !== undefined) {
      keys = new AssertionKeys(new KeyRing(await signingKeyFromPem(options.generatedKeyPem, 'the primary\'s generated key'), ringOptions), options);
    } else if (keyFile === '') {
      keys = new AssertionKeys(new KeyRing(await generateSigningKey(), ringOptions), options);
      keys.#log('warn', 'response.assertion.keyFile is empty: signing with a key generated at start, which no other replica knows', {
        kid: keys.ring.signing.kid,
      });
    } else {
      const state = await readState(keyFile);
      if (state.kind !== 'key') throw startError('keyFile', keyFile, state);
      keys = new AssertionKeys(new KeyRing(await signingKeyFromPem(state.text, keyFile), ringOptions), options);
      keys.#seen.set(keyFile, signature(state));
    }
    for (const file of options.publishKeyFiles) {
      const state = await readState(file);
      if (state.kind === 'unreadable') throw startError('publishKeyFiles', file, state);
      if (state.kind === 'key') keys.#published.set(file, await publishedKeyFromPem(state.text, file));
      keys.#seen.set(file, signature(state));
    }
    keys.ring.publish([...keys.#published.values()]);
    keys.#log('info', 'assertion keys loaded', { kid: keys.ring.signing.kid, alg: keys.ring.signing.alg, published: [...keys.#published.values()].map((key) => key.kid) });
    return keys;
  }

  /** Starts polling the files. Idempotent. */
  start(): void {
    if (this.#timer !== undefined) return;
    if (this.#options.keyFile === '' && this.#options.publishKeyFiles.length === 0) return;
    this.#timer = setInterval(() => void this.reload(), this.#options.pollIntervalMs ?? defaults.pollIntervalMs).unref();
  }

  close(): void {
    clearInterval(this.#timer);
  }

  /** The PKCS#8 PEM of a key generated at start (or handed down), for a cluster primary's workers; undefined with a key file. */
  generatedKeyPem(): string | undefined {
    if (this.#options.keyFile !== '') return undefined;
    return this.ring.signing.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  }

  /** The key set to serve now. */
  keySet(): JSONWebKeySet {
    return this.ring.keySet(Math.floor(this.#now() / 1000));
  }

  /** Reads every file and applies what changed; joins a reload already running; never rejects. */
  reload(): Promise<void> {
    this.#reloading ??= this.#reloadFiles().finally(() => {
      this.#reloading = undefined;
    });
    return this.#reloading;
  }

  async #reloadFiles(): Promise<void> {
    if (this.#options.keyFile !== '') await this.#reloadSigningKey(this.#options.keyFile);
    let publishedChanged = false;
    for (const file of this.#options.publishKeyFiles) publishedChanged = (await this.#reloadPublishedKey(file)) || publishedChanged;
    if (publishedChanged) this.ring.publish([...this.#published.values()]);
  }

  async #reloadSigningKey(file: string): Promise<void> {
    const state = await this.#changed(file);
    if (state === undefined) return;
    if (state.kind !== 'key') {
      const problem = state.kind === 'absent' ? 'missing or empty' : state.error;
      this.#log('warn', 'assertion key file not loaded; the last good key keeps signing', { file, error: problem, kid: this.ring.signing.kid });
      return;
    }
    try {
      const next = await signingKeyFromPem(state.text, file);
      const previous = this.ring.signing.kid;
      this.ring.rotate(next, Math.floor(this.#now() / 1000));
      if (next.kid !== previous) this.#log('info', 'assertion signing key rotated', { file, kid: next.kid, previousKid: previous });
    } catch (err) {
      this.#log('warn', 'assertion key file not loaded; the last good key keeps signing', { file, error: errorMessage(err), kid: this.ring.signing.kid });
    }
  }

  /** True when the set of published keys changed. */
  async #reloadPublishedKey(file: string): Promise<boolean> {
    const state = await this.#changed(file);
    if (state === undefined) return false;
    switch (state.kind) {
      case 'absent': {
        const removed = this.#published.get(file);
        if (removed) this.#log('info', 'assertion key no longer published', { file, kid: removed.kid });
        return this.#published.delete(file);
      }
      case 'unreadable':
        this.#log('warn', 'assertion key file not loaded; its last good key stays published', { file, error: state.error });
        return false;
      case 'key':
        try {
          const key = await publishedKeyFromPem(state.text, file);
          this.#published.set(file, key);
          this.#log('info', 'assertion key published', { file, kid: key.kid });
          return true;
        } catch (err) {
          this.#log('warn', 'assertion key file not loaded; its last good key stays published', { file, error: errorMessage(err) });
          return false;
        }
      default: {
        const never: never = state;
        return never;
      }
    }
  }

  /** The file's state when it differs from the last read; undefined when unchanged. */
  async #changed(file: string): Promise<FileState | undefined> {
    const state = await readState(file);
    const seen = signature(state);
    if (this.#seen.get(file) === seen) return undefined;
    this.#seen.set(file, seen);
    return state;
  }
}

type FileState = { readonly kind: 'key'; readonly text: string } | { readonly kind: 'absent' } | { readonly kind: 'unreadable'; readonly error: string };

/** A digest rather than the text, so that no copy of a private key stays around for comparing. */
function signature(state: FileState): string {
  if (state.kind === 'key') return `key:${createHash('sha256').update(state.text).digest('hex')}`;
  return state.kind === 'absent' ? 'absent' : `unreadable:${state.error}`;
}

/** A file that does not exist or holds only whitespace is absent. */
async function readState(file: string): Promise<FileState> {
  try {
    const text = await readFile(file, 'utf8');
    return text.trim() === '' ? { kind: 'absent' } : { kind: 'key', text };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'absent' };
    return { kind: 'unreadable', error: errorMessage(err) };
  }
}

function startError(key: string, file: string, state: Exclude<FileState, { kind: 'key' }>): GatehouseError {
  const problem = state.kind === 'absent' ? 'is missing or empty' : `cannot be read: ${state.error}`;
  return new GatehouseError(ErrorCode.config, `response.assertion.${key}: ${file} ${problem}`);
}
