import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import type { Result } from '../core/result.js';
import { ErrorCode, GatehouseError } from '../errors.js';
import type { Progress } from '../report/read-logs.js';
import { runReport } from '../report/run-report.js';
import type { WrittenSuggestion } from '../report/write-suggestion.js';
import { parseDuration, parseInstant, windowEndingAt } from '../report/window.js';
import { usage, type CommandResult } from './command.js';

const help = `gatehouse report --policies DIR --inventory FILE [--logs PATH…] [--since DURATION] --out DIR [--suggest DIR]
  access review: who may call what (Cedar over representative requests), what the decision
  logs show was used, and findings; writes report.json, report.md and report.html to DIR
options:
  --policies DIR        policy set (*.cedar and schema.cedarschema); default ./policies
  --inventory FILE      YAML: workloads [{spiffeId, class, namespace?, serviceAccount?}], services ["orders.shop", …]
  --logs PATH…          decision logs, one JSON line per decision: files, directories (every file
                        under them), quoted globs ('logs/*.jsonl.gz'), .gz files, - (standard input);
                        repeatable; merged by time, a decision id read twice counted once
  --since DURATION      only decisions of the last 30m, 24h, 7d, …; default: every decision up to now
  --now TIME            ISO 8601 time the window ends at, instead of the clock (for reproducible reports)
  --deny-threshold N    denies per identity that make a repeated-denies finding; default 20
  --source-ip ADDRESS   source address of the representative requests; default 10.0.0.1
  --out DIR             where to write the three files (created if missing)
  --suggest DIR         also write least-privilege policies granting exactly the allowed use in the
                        logs (observed.cedar, guards.cedar, the schema, tests/observed.yaml); needs --logs
exit status: 0 report written, 1 an input is invalid (every problem listed), 2 bad usage`;

export async function report(argv: string[]): Promise<CommandResult> {
  const { values, tokens } = parseArgs({
    args: argv,
    options: {
      policies: { type: 'string', default: './policies' },
      inventory: { type: 'string' },
      logs: { type: 'string', multiple: true, default: [] },
      since: { type: 'string' },
      now: { type: 'string' },
      'deny-threshold': { type: 'string', default: '20' },
      'source-ip': { type: 'string', default: '10.0.0.1' },
      out: { type: 'string' },
      suggest: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    tokens: true,
  });
  if (values.help) return usage(help, 0);
  const logFiles = logArguments(tokens);
  if (values.inventory === undefined) throw usageError('--inventory FILE is required');
  if (values.out === undefined) throw usageError('--out DIR is required');
  if (values.suggest !== undefined && logFiles.length === 0) throw usageError('--suggest DIR needs --logs: suggestions come from the allowed use in the decision logs');
  const nowMs = values.now === undefined ? Date.now() : valueOf(parseInstant(values.now), '--now');
  const sinceMs = values.since === undefined ? undefined : valueOf(parseDuration(values.since), '--since');
  const denyThreshold = Number(values['deny-threshold']);
  if (!Number.isSafeInteger(denyThreshold) || denyThreshold < 1) throw usageError(`--deny-threshold: expected a whole number of at least 1 (got ${JSON.stringify(values['deny-threshold'])})`);
  if (isIP(values['source-ip']) === 0) throw usageError(`--source-ip: expected an IP address (got ${JSON.stringify(values['source-ip'])})`);

  const outcome = await runReport({
    policyDir: values.policies,
    inventoryFile: values.inventory,
    logFiles,
    window: windowEndingAt(nowMs, sinceMs),
    since: values.since,
    outDir: values.out,
    denyThreshold,
    sourceIp: values['source-ip'],
    generatedAt: new Date(nowMs),
    stdin: process.stdin,
    onProgress: (progress) => process.stderr.write(progressLine(progress)),
    ...(values.suggest === undefined ? {} : { suggestDir: values.suggest }),
  });
  if (!outcome.ok) return { code: 1, err: `${outcome.problems.map((problem) => `gatehouse report: ${problem}`).join('\n')}\n` };
  const { summary, logs } = outcome.report;
  const decisions = logs === null ? 'no decision log' : `${logs.decisions} decisions (${logs.malformed.count} malformed lines skipped)`;
  return {
    code: 0,
    out:
      `${outcome.files.join('\n')}\n` +
      `${summary.identities} identities × ${summary.services} services: ${summary.cells.allow} allow and ${summary.cells.conditional} conditional cells; ${decisions}; ` +
      `findings: ${summary.findings.high} high, ${summary.findings.medium} medium, ${summary.findings.low} low\n` +
      suggestionLines(outcome.suggestion),
  };
}

function suggestionLines(suggestion: WrittenSuggestion | undefined): string {
  if (suggestion === undefined) return '';
  const skipped = suggestion.notSuggested.length;
  return `${suggestion.files.join('\n')}\nsuggested ${suggestion.policies} policies from the allowed use${skipped > 0 ? `; ${skipped} allowed uses not suggested (listed in ${suggestion.files[0]!})` : ''}\n`;
}

/**
 * `--logs a b c` as the usage line shows it, and `--logs a --logs b`: a positional argument is a
 * log file when it directly follows `--logs` or another such file.
 */
function logArguments(tokens: NonNullable<ReturnType<typeof parseArgs>['tokens']>): string[] {
  const files: string[] = [];
  let afterLogs = false;
  for (const token of tokens) {
    if (token.kind === 'option') {
      afterLogs = token.name === 'logs';
      if (afterLogs && token.value !== undefined) files.push(token.value);
    } else if (token.kind === 'positional') {
      if (!afterLogs) throw usageError(`unexpected argument ${JSON.stringify(token.value)}`);
      files.push(token.value);
    } else afterLogs = false;
  }
  return files;
}

function progressLine(progress: Progress): string {
  const seconds = progress.elapsedMs / 1000;
  const rate = Math.round(progress.lines / Math.max(seconds, 0.001));
  return `gatehouse report: ${progress.lines.toLocaleString('en')} log lines read (${rate.toLocaleString('en')}/s), now in ${progress.file}\n`;
}

function valueOf<T>(parsed: Result<T>, flag: string): T {
  if (!parsed.ok) throw usageError(`${flag}: ${parsed.reason}`);
  return parsed.value;
}

function usageError(message: string): GatehouseError {
  return new GatehouseError(ErrorCode.config, message);
}
