import { glob, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { errorMessage } from '../errors.js';
import { FilePool, openLog } from './file-pool.js';
import type { LogInput } from './read-logs.js';

/**
 * `--logs` arguments → the logs to read: `-` is standard input; a directory stands for every
 * regular file under it; a name with `*`, `?`, `[` or `{` that is not a file is a glob (Node's
 * own `fs.glob`, so `**` and `{a,b}` work); anything else is a file. Each file is read once
 * however many arguments name it, in the order named (a directory's and a glob's in name order).
 * A name ending in `.gz` is gunzipped as it is read.
 */
export async function expandLogArguments(names: readonly string[]): Promise<{ ok: true; files: string[] } | { ok: false; problems: string[] }> {
  const problems: string[] = [];
  const files: string[] = [];
  const seen = new Set<string>();
  const add = (file: string): void => {
    const key = file === '-' ? '-' : resolve(file);
    if (seen.has(key)) return;
    seen.add(key);
    files.push(file);
  };
  if (names.filter((name) => name === '-').length > 1) problems.push('--logs: standard input (-) can be read only once');
  for (const name of names) {
    if (name === '-') {
      add(name);
      continue;
    }
    const found = await kindOf(name);
    if (found === 'file') add(name);
    else if (found === 'directory') {
      const inside = await filesUnder(name);
      if (inside.length === 0) problems.push(`${name}: is a directory with no file in it`);
      inside.forEach(add);
    } else if (/[*?[{]/.test(name)) {
      const matched = await globbed(name);
      if (matched.length === 0) problems.push(`${name}: no file matches`);
      matched.forEach(add);
    } else add(name); // Missing or unreadable: opening it says why.
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, files };
}

async function kindOf(name: string): Promise<'file' | 'directory' | 'other' | undefined> {
  try {
    const info = await stat(name);
    return info.isDirectory() ? 'directory' : info.isFile() ? 'file' : 'other';
  } catch {
    return undefined;
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isFile() || (entry.isSymbolicLink() && (await kindOf(path)) === 'file')) files.push(path);
  }
  return files.sort();
}

async function globbed(pattern: string): Promise<string[]> {
  const matched: string[] = [];
  for await (const path of glob(pattern)) {
    const kind = await kindOf(path);
    if (kind === 'file') matched.push(path);
    else if (kind === 'directory') matched.push(...(await filesUnder(path)));
  }
  return matched.sort();
}

export interface OpenOptions {
  /** The most log files open at once; the others wait, closed, where they were left (FilePool). */
  readonly maxOpenFiles?: number;
  /** Bytes read from a log at a time; default: 256 KiB, less when there are many logs. */
  readonly chunkBytes?: number;
}

/**
 * Far below the usual limit of 1,024 open files, leaving room for the process's own; a fleet's
 * thousands of logs are read through these in turn.
 */
export const defaultMaxOpenFiles = 128;

// Each log holds a chunk of its text (and the decisions parsed from it) while it waits in the
// merge: a full chunk for a few logs, less for many, so thousands of logs do not hold gigabytes.
const maxChunkBytes = 256 * 1024;
const minChunkBytes = 16 * 1024;
const bufferedBytes = 64 * 1024 * 1024;

/**
 * Every log is checked before any is read (it opens, it is a regular file), so a wrong name
 * fails the run at once rather than after minutes of reading. Each is opened, checked and closed
 * in turn; the read reopens them through one FilePool, at most `maxOpenFiles` at a time.
 */
export async function openLogs(
  names: readonly string[],
  stdin: Readable,
  options: OpenOptions = {},
): Promise<{ ok: true; inputs: LogInput[]; files: FilePool } | { ok: false; problems: string[] }> {
  const expanded = await expandLogArguments(names);
  if (!expanded.ok) return expanded;
  const problems: string[] = [];
  const identities = new Map<string, string>();
  for (const name of expanded.files) {
    if (name === '-') continue;
    try {
      await (await openLog(name, identities)).close();
    } catch (err) {
      const message = errorMessage(err);
      problems.push(message === 'is not a regular file' ? `${name}: ${message}` : `${name}: cannot open the decision log: ${message}`);
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  // The read holds each path to the file checked here.
  const files = new FilePool(options.maxOpenFiles ?? defaultMaxOpenFiles, identities);
  const chunkBytes = options.chunkBytes ?? Math.max(minChunkBytes, Math.min(maxChunkBytes, Math.floor(bufferedBytes / Math.max(1, expanded.files.length))));
  const inputs = expanded.files.map((name): LogInput => (name === '-' ? { name: '(stdin)', stream: stdin } : { name, stream: fileStream(name, files, chunkBytes) }));
  return { ok: true, inputs, files };
}

function fileStream(name: string, files: FilePool, chunkBytes: number): Readable {
  // One chunk at a time: a read-ahead would hold more than one chunk per log.
  const raw = Readable.from(fileChunks(name, files, chunkBytes), { objectMode: false, highWaterMark: chunkBytes });
  if (!name.endsWith('.gz')) return raw.setEncoding('utf8');
  // Gunzip only once the log is read: piping now would start the flow, and a corrupt file's error
  // would come while nothing listens.
  const gunzipped = Readable.from(
    (async function* () {
      const gunzip = createGunzip();
      raw.once('error', (err) => gunzip.destroy(err));
      yield* raw.pipe(gunzip).setEncoding('utf8');
    })(),
  );
  gunzipped.once('close', () => raw.destroy());
  return gunzipped;
}

/** The file's bytes, a chunk at a time, each read at its offset through the pool; its handle is let go at the end. */
async function* fileChunks(name: string, files: FilePool, chunkBytes: number): AsyncGenerator<Buffer> {
  let position = 0;
  try {
    for (;;) {
      const bytes = await files.read(name, position, chunkBytes);
      if (bytes.length === 0) return;
      position += bytes.length;
      yield bytes;
    }
  } finally {
    await files.forget(name);
  }
}
