/**
 * A log is read from the file that was checked, or not at all. `--logs` checks every file before
 * reading any, and a merge of many logs closes and reopens them as it goes: a path swapped in the
 * meantime (a rotated log, a pipe, a device) fails the run instead of being read from another
 * file's offset or waiting forever, and a pipe named up front is refused without blocking.
 */
import { execFileSync } from 'node:child_process';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { FilePool } from '../../src/report/file-pool.js';
import { openLogs } from '../../src/report/log-inputs.js';
import { scratch } from './fixtures.js';

test('a file replaced between two reads fails the second read', async () => {
  const { dir } = await scratch('replaced');
  const [a, b] = [join(dir, 'a.jsonl'), join(dir, 'b.jsonl')];
  await writeFile(a, 'first file\n');
  await writeFile(b, 'other file\n');
  const pool = new FilePool(1);
  try {
    expect((await pool.read(a, 0, 5)).toString()).toBe('first');
    // Reading b closes a, so a is opened again by path.
    expect((await pool.read(b, 0, 5)).toString()).toBe('other');
    await writeFile(join(dir, 'rotated.jsonl'), 'a new file written in its place\n');
    await rename(join(dir, 'rotated.jsonl'), a);
    await expect(pool.read(a, 5, 5)).rejects.toThrow('was replaced by another file while being read');
  } finally {
    await pool.close();
  }
});

test('a file replaced by a pipe after the check fails its read at once', async () => {
  const { dir } = await scratch('piped');
  const log = join(dir, 'decisions.jsonl');
  await writeFile(log, '{}\n');
  const opened = await openLogs([log], Readable.from([]));
  if (!opened.ok) throw new Error(opened.problems.join('\n'));
  execFileSync('rm', [log]);
  execFileSync('mkfifo', [log]);
  try {
    await expect(opened.files.read(log, 0, 16)).rejects.toThrow('is not a regular file');
  } finally {
    await opened.files.close();
  }
});

test('a pipe named as a log is refused without waiting for a writer', async () => {
  const { dir } = await scratch('fifo');
  const fifo = join(dir, 'pipe.jsonl');
  execFileSync('mkfifo', [fifo]);
  const opened = await openLogs([fifo], Readable.from([]));
  expect(opened).toEqual({ ok: false, problems: [`${fifo}: is not a regular file`] });
});
