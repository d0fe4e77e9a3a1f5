/**
 * Regression: `--logs` over thousands of files opened every one at once and met the process's
 * open-file limit (EMFILE). More logs than the bound, each read in several chunks and merged by
 * time, so every log is closed and reopened mid-read; the files open at any moment are counted
 * from the process's own descriptor table, not from the pool's word.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { LoggedDecision } from '../../src/report/log-line.js';
import { openLogs } from '../../src/report/log-inputs.js';
import { UseAggregator } from '../../src/report/observed-use.js';
import { readDecisionLogs } from '../../src/report/read-logs.js';
import { windowEndingAt } from '../../src/report/window.js';
import { logLine, scratch } from './fixtures.js';

const replicas = 300;
const rotated = 20;
const linesPerLog = 20;
const maxOpenFiles = 8;
const start = Date.UTC(2025, 0, 31, 10);
const web = 'Workload::"spiffe://td/ns/a/sa/web"';

// Line j of every replica comes before line j + 1 of any: the merge takes one line from each log in turn.
const replicaLines = (replica: number): string[] =>
  Array.from({ length: linesPerLog }, (_, line) =>
    logLine({ time: new Date(start + (line * replicas + replica) * 1000).toISOString(), principal: web, resource: `svc-${replica % 7}.shop`, action: 'GET', decision: 'allow', path: `/r/${replica}/${line}`, decisionId: `r${replica}-${line}` }),
  );

/** How many of this process's file descriptors point into `dir`. */
function openUnder(dir: string): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir)) count += 1;
    } catch {
      // Closed between the listing and the look.
    }
  }
  return count;
}

describe('many logs through a bounded number of open files', () => {
  test(`${replicas + rotated} logs, at most ${maxOpenFiles} open: every line read, every copy dropped`, async () => {
    const files = await scratch('many');
    try {
      for (let replica = 0; replica < replicas; replica++) {
        const text = `${replicaLines(replica).join('\n')}\n`;
        if (replica % 5 === 0) await writeFile(join(files.dir, `pod-${String(replica).padStart(3, '0')}.jsonl.gz`), gzipSync(text));
        else await files.write(`pod-${String(replica).padStart(3, '0')}.jsonl`, text);
      }
      // Rotated exports of the first replicas: the very same decisions again.
      for (let replica = 0; replica < rotated; replica++) await files.write(`rotated-${String(replica).padStart(3, '0')}.jsonl`, `${replicaLines(replica).join('\n')}\n`);

      const opened = await openLogs([files.dir], Readable.from([]), { maxOpenFiles, chunkBytes: 4096 });
      if (!opened.ok) throw new Error(opened.problems.join('\n'));
      expect(opened.inputs).toHaveLength(replicas + rotated);

      const aggregator = new UseAggregator();
      let mostOpen = 0;
      let samples = 0;
      let previous = -Infinity;
      let inOrder = true;
      const result = await readDecisionLogs(opened.inputs, windowEndingAt(start + 86_400_000, undefined), {
        add: (decision: LoggedDecision) => {
          if (decision.timeMs < previous) inOrder = false;
          previous = decision.timeMs;
          aggregator.add(decision);
          if (++samples % 25 === 0) mostOpen = Math.max(mostOpen, openUnder(files.dir));
        },
      });

      expect(result.files.reduce((sum, file) => sum + file.lines, 0)).toBe((replicas + rotated) * linesPerLog);
      expect(result.files.reduce((sum, file) => sum + file.inWindow, 0)).toBe(replicas * linesPerLog);
      expect(result.files.filter((file) => file.duplicates > 0).map((file) => [file.name.slice(files.dir.length + 1), file.duplicates])).toEqual(
        Array.from({ length: rotated }, (_, replica) => [`rotated-${String(replica).padStart(3, '0')}.jsonl`, linesPerLog]),
      );
      expect(result.malformed.count).toBe(0);
      expect(inOrder).toBe(true);
      expect(aggregator.summary().uses.reduce((sum, use) => sum + use.allow, 0)).toBe(replicas * linesPerLog);

      expect(mostOpen).toBeGreaterThan(0);
      expect(mostOpen).toBeLessThanOrEqual(maxOpenFiles);
      expect(opened.files.peakOpen).toBe(maxOpenFiles);
      expect({ pool: opened.files.openNow, process: openUnder(files.dir) }).toEqual({ pool: 0, process: 0 });
    } finally {
      await files.remove();
    }
  });

  test('a log that disappears after the check fails the read, naming it', async () => {
    const files = await scratch('gone');
    try {
      const kept = await files.write('a.jsonl', `${replicaLines(0).join('\n')}\n`);
      const gone = await files.write('b.jsonl', `${replicaLines(1).join('\n')}\n`);
      const opened = await openLogs([kept, gone], Readable.from([]), { maxOpenFiles: 1 });
      if (!opened.ok) throw new Error(opened.problems.join('\n'));
      await rm(gone);
      await expect(readDecisionLogs(opened.inputs, windowEndingAt(start + 86_400_000, undefined), new UseAggregator())).rejects.toThrow(new RegExp(`^${gone}: (Error: )?ENOENT: no such file`));
      await opened.files.close();
      expect(openUnder(files.dir)).toBe(0);
    } finally {
      await files.remove();
    }
  });
});
