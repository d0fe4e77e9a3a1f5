import { glob, open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { errorMessage } from '../errors.js';
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

/** Every log is opened before any is read, so a wrong name fails the run at once rather than after minutes of reading. */
export async function openLogs(names: readonly string[], stdin: Readable): Promise<{ ok: true; inputs: LogInput[] } | { ok: false; problems: string[] }> {
  const expanded = await expandLogArguments(names);
  if (!expanded.ok) return expanded;
  const problems: string[] = [];
  const opened: { name: string; handle: FileHandle | undefined }[] = [];
  for (const name of expanded.files) {
    if (name === '-') {
      opened.push({ name, handle: undefined });
      continue;
    }
    try {
      const handle = await open(name, 'r');
      opened.push({ name, handle });
      if (!(await handle.stat()).isFile()) problems.push(`${name}: is not a regular file`);
    } catch (err) {
      problems.push(`${name}: cannot open the decision log: ${errorMessage(err)}`);
    }
  }
  if (problems.length > 0) {
    await Promise.all(opened.map(({ handle }) => handle?.close()));
    return { ok: false, problems };
  }
  const inputs = opened.map(({ name, handle }): LogInput => (handle === undefined ? { name: '(stdin)', stream: stdin } : { name, stream: fileStream(name, handle) }));
  return { ok: true, inputs };
}

function fileStream(name: string, handle: FileHandle): Readable {
  const file = handle.createReadStream({ highWaterMark: 256 * 1024 });
  if (!name.endsWith('.gz')) return file.setEncoding('utf8');
  // Gunzip only once the log is read: piping now would start the flow, and a corrupt file's error
  // would come while nothing listens.
  const gunzipped = Readable.from(
    (async function* () {
      const gunzip = createGunzip();
      file.once('error', (err) => gunzip.destroy(err));
      yield* file.pipe(gunzip).setEncoding('utf8');
    })(),
  );
  gunzipped.once('close', () => file.destroy());
  return gunzipped;
}
