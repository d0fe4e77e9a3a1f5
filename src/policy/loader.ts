import { constants } from 'node:fs';
import { errorMessage } from '../errors.js';
import { open, readdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { PolicyEngine, type PrepareResult } from './cedar/engine.js';
import type { PolicyProblem } from './problem.js';
import type { PolicySetInput } from './version.js';

export const schemaFileName = 'schema.cedarschema';

export type ReadResult = { ok: true; input: PolicySetInput } | { ok: false; problems: PolicyProblem[] };

/** Reads and validates the policy set in `dir`: every `*.cedar` file and `schema.cedarschema`. */
export async function loadPolicies(dir: string): Promise<PrepareResult> {
  const read = await readPolicyDir(dir);
  return read.ok ? PolicyEngine.load(read.input) : read;
}

/**
 * The texts of the policy set in `dir`, files in name order, every unreadable file reported.
 * Zero policy files is a valid set (it denies everything); a missing schema is not.
 * Dot files are skipped: editors keep locks and swap files there, and Kubernetes its `..data`.
 */
export async function readPolicyDir(dir: string): Promise<ReadResult> {
  const root = await snapshotRoot(dir);
  let names: string[];
  try {
    names = (await readdir(root)).filter((name) => name.endsWith('.cedar') && !name.startsWith('.')).sort();
  } catch (err) {
    return { ok: false, problems: [wholeFile(dir, `cannot read the policy directory: ${errorMessage(err)}`)] };
  }
  const problems: PolicyProblem[] = [];
  const read = async (name: string): Promise<{ name: string; text: string }> => {
    try {
      return { name: join(dir, name), text: await readRegularFile(join(root, name)) };
    } catch (err) {
      const missing = name === schemaFileName && (err as NodeJS.ErrnoException).code === 'ENOENT';
      problems.push(wholeFile(join(dir, name), missing ? 'the schema is missing' : `cannot read: ${errorMessage(err)}`));
      return { name: join(dir, name), text: '' };
    }
  };
  const [schema, files] = await Promise.all([read(schemaFileName), Promise.all(names.map(read))]);
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, input: { files, schemaText: schema.text, schemaFile: schema.name } };
}

/**
 * Opening a FIFO for reading blocks until a writer comes, holding a libuv thread, every later
 * reload and even the process's exit. Opened without blocking, anything but a regular file is
 * refused instead.
 */
async function readRegularFile(path: string): Promise<string> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!(await handle.stat()).isFile()) throw new Error('not a regular file');
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/**
 * A Kubernetes ConfigMap volume links every file through `..data`, which the kubelet swaps to a
 * new directory in one rename. Reading through the link's target gives one consistent version
 * even when a swap happens halfway through the reads.
 */
async function snapshotRoot(dir: string): Promise<string> {
  try {
    return await realpath(join(dir, '..data'));
  } catch {
    return dir;
  }
}

function wholeFile(file: string, message: string): PolicyProblem {
  return { file, line: 0, col: 0, message, severity: 'error' };
}
