import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FuzzReport } from './core-fuzz.js';

/**
 * A fuzz run passes when it found nothing, ran every iteration, and reached deep enough to mean
 * something: allows happen (so the oracle was exercised) and the denies span request, path,
 * credential and policy reasons.
 */
export function checkFuzzReport(report: FuzzReport, iterations: number): void {
  const summary = { ...report, findings: report.findings.length };
  process.stdout.write(`fuzz: ${JSON.stringify(summary)}\n`);
  if (report.findings.length > 0) {
    // Inputs can be large: they go to a file, the assertion shows the problems.
    const file = join(tmpdir(), `gatehouse-fuzz-findings-${report.seed}.json`);
    writeFileSync(file, JSON.stringify(report.findings, null, 2));
    process.stdout.write(`fuzz: findings with their inputs (base64 CheckRequest bytes) in ${file}\n`);
  }
  expect(report.findings.map((finding) => `#${finding.iteration}: ${finding.problem.slice(0, 600)}`)).toEqual([]);
  expect(report.iterations).toBe(iterations);
  expect(report.outcomes.allow ?? 0).toBeGreaterThan(iterations / 100);
  for (const reason of ['deny:bad_request', 'deny:bad_path', 'deny:policy_denied', 'deny:signature_invalid', 'deny:algorithm_not_allowed', 'deny:malformed_credential']) {
    expect({ reason, seen: (report.outcomes[reason] ?? 0) > 0 }).toEqual({ reason, seen: true });
  }
}
