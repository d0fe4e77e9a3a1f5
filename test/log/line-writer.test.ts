/**
 * LineWriter encodes a batch into one reused 256 KiB chunk per write. Whatever the lines (many
 * chunks' worth, a line longer than a chunk, characters of 1-4 UTF-8 bytes, lone surrogates),
 * the file holds exactly the lines given, in order, one per line; and a write that fails part
 * way through a batch keeps the lines not yet written, in order, for the retry.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LineWriter, type LossReport } from '../../src/log/line-writer.js';

/** The writer's chunk: 256 KiB. */
const chunk = 256 * 1024;

let dir: string;
beforeEach(async () => {
  dir = join(tmpdir(), `gatehouse-line-writer-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  await mkdir(dir, { recursive: true });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writtenLines(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.slice(0, -1).split('\n');
}

/** What a line reads as once written: UTF-8 has no lone surrogates, so each becomes U+FFFD. */
const asWritten = (line: string): string => Buffer.from(line, 'utf8').toString('utf8');

test('many chunks of mixed lines, in several batches: every line once, in order, byte for byte', async () => {
  const file = join(dir, 'decisions.log');
  const writer = new LineWriter({ kind: 'file', path: file });
  const pieces = ['a', 'é', '€', '😀', '\ud800', 'x'.repeat(300), '"\\'];
  const lines = Array.from({ length: 3000 }, (_, i) => `{"n":${i},"v":"${pieces[i % pieces.length]!.repeat(1 + (i % 97))}"}`);
  // Batches of uneven sizes, the largest far over a chunk (3000 lines are ~1.5 MB as UTF-8).
  writer.write(lines.slice(0, 1));
  writer.write(lines.slice(1, 1700));
  writer.write(lines.slice(1700));
  await writer.close();
  expect(await writtenLines(file)).toEqual(lines.map(asWritten));
});

test('a line longer than a chunk is written whole, between its neighbours', async () => {
  const file = join(dir, 'decisions.log');
  const writer = new LineWriter({ kind: 'file', path: file });
  const long = `{"v":"${'€'.repeat(100_000)}"}`; // 300 KB as UTF-8, over the chunk
  const lines = ['{"n":1}', long, '{"n":2}', `{"v":"${'y'.repeat(chunk + 10)}"}`, '{"n":3}'];
  writer.write(lines);
  await writer.close();
  expect(await writtenLines(file)).toEqual(lines);
});

test('lines that fill a chunk exactly, with 3-byte characters, and one unit past it', async () => {
  const file = join(dir, 'decisions.log');
  const writer = new LineWriter({ kind: 'file', path: file });
  // A chunk takes lines while their UTF-8 bytes and newlines fit in it: '€' is 3 bytes, so this
  // line and its newline fill it exactly.
  const full = '€'.repeat((chunk - 1) / 3);
  const third = '€'.repeat(28_000);
  // After 'a' and its newline, this line's bytes are one too many for what is left of the chunk.
  const oneOver = `${'€'.repeat((chunk - 4) / 3)}zz`;
  expect(Buffer.byteLength(oneOver)).toBe(chunk - 2);
  const lines = [full, `${full}€`, 'a', oneOver, third, third, third, 'z'.repeat(chunk - 1), 'z'.repeat(chunk), '😀'.repeat((chunk - 4) / 4), 'end'];
  writer.write(lines);
  await writer.close();
  expect(await writtenLines(file)).toEqual(lines);
});

test('a destination missing at first: every line is kept, in order, and written once it is there', async () => {
  const logs = join(dir, 'logs');
  const file = join(logs, 'decisions.log');
  const losses: LossReport[] = [];
  const writer = new LineWriter({ kind: 'file', path: file }, { retryMs: 20, onLoss: (report) => losses.push(report) });
  const lines = Array.from({ length: 600 }, (_, i) => JSON.stringify({ n: i, pad: 'p'.repeat(400) }));
  writer.write(lines);
  await new Promise((resolve) => setTimeout(resolve, 60));
  expect(losses.some((report) => report.lost === 0 && /ENOENT/.test(report.reason))).toBe(true);
  const later = ['{"n":"later"}'];
  writer.write(later);
  await mkdir(logs);
  await new Promise((resolve) => setTimeout(resolve, 200));
  await writer.close();
  expect(await writtenLines(file)).toEqual([...lines, ...later]);
  expect(losses.every((report) => report.lost === 0)).toBe(true);
});

describe('stdout, through a stand-in that answers each write later', () => {
  const realWrite = process.stdout.write.bind(process.stdout);
  afterEach(() => {
    process.stdout.write = realWrite;
  });

  /**
   * Keeps every chunk handed to it and a copy taken then; calls back 5 ms later, failing the
   * `failing`-th call (or those it says). At each callback the chunk must still hold what it held when handed over:
   * a chunk reused before its write was done would have been overwritten by then.
   */
  function standIn(failing: number | ((call: number) => boolean)): { written: Buffer[]; intact: boolean[] } {
    const fails = typeof failing === 'number' ? (call: number) => call === failing : failing;
    const written: Buffer[] = [];
    const intact: boolean[] = [];
    let calls = 0;
    process.stdout.write = ((chunk: Buffer, callback: (err?: Error) => void): boolean => {
      calls += 1;
      const call = calls;
      const copy = Buffer.from(chunk);
      setTimeout(() => {
        intact.push(copy.equals(chunk));
        if (fails(call)) {
          callback(new Error('EPIPE: the reader went away'));
          return;
        }
        written.push(copy);
        callback();
      }, 5);
      return true;
    }) as typeof process.stdout.write;
    return { written, intact };
  }

  test('no chunk is reused before its write is done, and a write failing part way through a batch loses nothing', async () => {
    const { written, intact } = standIn(2);
    const losses: LossReport[] = [];
    const writer = new LineWriter({ kind: 'stdout' }, { retryMs: 20, onLoss: (report) => losses.push(report) });
    // ~1.8 MB: seven chunks or more, the second of which fails.
    const lines = Array.from({ length: 4000 }, (_, i) => JSON.stringify({ n: i, pad: 'q'.repeat(430) }));
    writer.write(lines);
    // Arrives while the batch is being written, so it must come after the batch's kept lines.
    writer.write(['{"n":"later"}']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await writer.close();
    expect(intact.length).toBeGreaterThanOrEqual(7);
    expect(intact.every(Boolean)).toBe(true);
    expect(losses.filter((report) => /EPIPE/.test(report.reason))).toHaveLength(1);
    const out = Buffer.concat(written).toString('utf8');
    expect(out.slice(0, -1).split('\n')).toEqual([...lines, '{"n":"later"}']);
  });

  test('after a write fails part way, the kept lines count against the bound: the oldest are dropped, counted exactly', async () => {
    const { written } = standIn(2);
    const losses: LossReport[] = [];
    const line = (n: number): string => JSON.stringify({ n: String(n).padStart(4, '0'), pad: 'q'.repeat(430) });
    const lines = Array.from({ length: 1000 }, (_, i) => line(i));
    const lineBytes = lines[0]!.length + 1;
    // The bound holds the whole first batch and not a byte more.
    const writer = new LineWriter({ kind: 'stdout' }, { maxBufferedBytes: 1000 * lineBytes, retryMs: 200, onLoss: (report) => losses.push(report) });
    writer.write(lines);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(losses.filter((report) => /EPIPE/.test(report.reason))).toHaveLength(1);
    const first = Buffer.concat(written).toString('utf8').slice(0, -1).split('\n');
    expect(first).toEqual(lines.slice(0, first.length));
    // The kept lines and 800 more are over the bound by 800 less as many lines as the first chunk held.
    expect(first.length).toBeLessThan(800);
    const more = Array.from({ length: 800 }, (_, i) => line(1000 + i));
    writer.write(more);
    const dropped = losses.filter((report) => report.lost > 0);
    expect(dropped).toEqual([{ lost: 800 - first.length, reason: `more than ${1000 * lineBytes} bytes waiting to be written` }]);
    await new Promise((resolve) => setTimeout(resolve, 400));
    await writer.close();
    const out = Buffer.concat(written).toString('utf8').slice(0, -1).split('\n');
    expect(out).toEqual([...lines.slice(0, first.length), ...lines.slice(800), ...more]);
  });

  test('close() while a failing write is in flight: one last attempt, the loss said, and nothing written after', async () => {
    const { written } = standIn(() => true);
    const losses: LossReport[] = [];
    const writer = new LineWriter({ kind: 'stdout' }, { retryMs: 10, onLoss: (report) => losses.push(report) });
    writer.write(['{"n":1}', '{"n":2}']);
    await writer.close();
    expect(losses.filter((report) => /EPIPE/.test(report.reason))).toHaveLength(2);
    expect(losses.at(-1)).toEqual({ lost: 2, reason: 'still unwritten at shutdown' });
    // A retry left behind would write them later: the lines said to be lost must stay unwritten.
    process.stdout.write = ((chunk: Buffer, callback: (err?: Error) => void): boolean => {
      written.push(Buffer.from(chunk));
      callback();
      return true;
    }) as typeof process.stdout.write;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(written).toEqual([]);
  });
});
