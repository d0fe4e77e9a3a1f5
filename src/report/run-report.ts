import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../errors.js';
import type { FilePool } from './file-pool.js';
import { openLogs } from './log-inputs.js';
import type { Readable } from 'node:stream';
import type { PolicyEngine } from '../policy/cedar/engine.js';
import { loadPolicies } from '../policy/loader.js';
import { formatProblem } from '../policy/problem.js';
import { ActingForAggregator } from './acting-for.js';
import { cellKey, computeAccessMatrix, matrixActions } from './access-matrix.js';
import { analyzePolicies } from './analyzed-policy.js';
import { allFindings } from './findings/all-findings.js';
import type { Inventory } from './inventory.js';
import { UseAggregator } from './observed-use.js';
import type { LoggedDecision } from './log-line.js';
import { PathAggregator } from './observed-paths.js';
import { readInventory } from './read-inventory.js';
import { suggestPolicies } from './suggest-policies.js';
import { knownCallers } from './suggested-caller.js';
import { writeSuggestion, type UnobservedCell, type WrittenSuggestion } from './write-suggestion.js';
import { readDecisionLogs, type LogInput, type LogReadResult, type Progress } from './read-logs.js';
import { renderHtml } from './render-html.js';
import { renderMarkdown } from './render-markdown.js';
import { buildReport, type ReportJson, type ReportParts } from './report.js';
import { reviewIdentities } from './review-identity.js';
import { servicesOutsideInventory } from './service-traffic.js';
import type { TimeWindow } from './window.js';

export interface ReportOptions {
  readonly policyDir: string;
  readonly inventoryFile: string;
  /** Decision log files, directories, globs and `.gz` files; `-` is standard input. */
  readonly logFiles: readonly string[];
  readonly window: TimeWindow;
  /** The `--since` text, for the report's own description of the window. */
  readonly since: string | undefined;
  readonly outDir: string;
  readonly denyThreshold: number;
  readonly sourceIp: string;
  readonly generatedAt: Date;
  readonly stdin: Readable;
  readonly onProgress?: (progress: Progress) => void;
  /** Where to write least-privilege policies suggested from the allowed use (needs logs). */
  readonly suggestDir?: string;
}

export type ReportOutcome = { ok: true; report: ReportJson; files: readonly string[]; suggestion?: WrittenSuggestion } | { ok: false; problems: readonly string[] };

const outputNames = ['report.json', 'report.md', 'report.html'] as const;

/** Reads every input (failing with every problem at once), computes the review, writes the three files. */
export async function runReport(options: ReportOptions): Promise<ReportOutcome> {
  const inputs = await loadInputs(options);
  if (!inputs.ok) return inputs;
  const { engine, inventory, logs, logFiles } = inputs;

  const policies = analyzePolicies(engine);
  const identities = reviewIdentities(inventory);
  const matrix = computeAccessMatrix(engine, policies, identities, inventory.services, { sourceIp: options.sourceIp });
  let observedLogs: ReportParts['logs'];
  let actorClasses: ReadonlyMap<string, Readonly<Record<string, number>>> = new Map();
  const paths = options.suggestDir === undefined ? undefined : new PathAggregator();
  if (logs.length > 0) {
    const aggregator = new UseAggregator();
    const actingFor = new ActingForAggregator();
    const sink = {
      add: (decision: LoggedDecision): void => {
        aggregator.add(decision);
        actingFor.add(decision);
        paths?.add(decision);
      },
    };
    let read: LogReadResult;
    try {
      read = await readDecisionLogs(logs, options.window, sink, { onProgress: options.onProgress });
    } catch (err) {
      // A log that fails half way (an I/O error) leaves no sound count; nothing is written.
      for (const input of logs) if (input.stream !== options.stdin) input.stream.destroy();
      return { ok: false, problems: [`cannot read the decision log ${errorMessage(err)}`] };
    } finally {
      await logFiles.close();
    }
    const observed = aggregator.summary();
    actorClasses = actingFor.loggedClasses();
    observedLogs = { read, observed, unknownServices: servicesOutsideInventory(inventory.services, observed.uses), actingFor: actingFor.summary(inventory.workloads) };
  }
  const findings = allFindings({
    inventory,
    policies,
    matrix,
    observed: observedLogs?.observed,
    unknownServices: observedLogs?.unknownServices ?? [],
    actingFor: observedLogs?.actingFor.edges ?? [],
    actorClasses,
    denyThreshold: options.denyThreshold,
  });
  const report = buildReport({
    generatedAt: options.generatedAt,
    window: options.window,
    since: options.since,
    policyDir: options.policyDir,
    policyVersion: engine.version,
    policies,
    inventoryFile: options.inventoryFile,
    inventory,
    identities,
    matrix,
    sourceIp: options.sourceIp,
    logs: observedLogs,
    findings,
  });
  const files = await writeOutputs(options.outDir, report);
  if (options.suggestDir === undefined || paths === undefined) return { ok: true, report, files };
  const uses = paths.uses();
  const suggestion = suggestPolicies(engine, policies, uses, knownCallers(inventory.users, inventory.workloads), { sourceIp: options.sourceIp });
  // Use through an actor is granted only through it: the principal's own cell stays unobserved.
  const used = new Set(uses.filter((use) => use.actor === undefined).map((use) => cellKey(use.principal, use.service, use.action)));
  const unobserved = identities.flatMap((identity) => {
    const { identity: caller } = identity;
    const user = caller.kind === 'user' ? { subject: caller.subject, issuer: caller.issuer, groups: caller.groups } : undefined;
    return inventory.services.flatMap((service) =>
      matrixActions
        .filter((action) => !used.has(cellKey(identity.principal, service.name, action)))
        .map((action): UnobservedCell => ({ principal: identity.principal, class: identity.class, ...(user === undefined ? {} : { user }), service: service.name, action })),
    );
  });
  return { ok: true, report, files, suggestion: await writeSuggestion(options.suggestDir, engine, suggestion, options.sourceIp, unobserved) };
}

type Inputs = { ok: true; engine: PolicyEngine; inventory: Inventory; logs: LogInput[]; logFiles: FilePool } | { ok: false; problems: string[] };

async function loadInputs(options: ReportOptions): Promise<Inputs> {
  const [policies, inventory, logs] = await Promise.all([loadPolicies(options.policyDir), readInventory(options.inventoryFile), openLogs(options.logFiles, options.stdin)]);
  const problems = [
    ...(policies.ok ? [] : policies.problems.filter((problem) => problem.severity === 'error').map(formatProblem)),
    ...(inventory.ok ? [] : inventory.problems),
    ...(logs.ok ? [] : logs.problems),
  ];
  if (!policies.ok || !inventory.ok || !logs.ok) {
    // No log file is open yet (each opens when first read); standard input is not ours to close.
    if (logs.ok) for (const input of logs.inputs) if (input.stream !== options.stdin) input.stream.destroy();
    return { ok: false, problems };
  }
  return { ok: true, engine: policies.engine, inventory: inventory.inventory, logs: logs.inputs, logFiles: logs.files };
}

async function writeOutputs(dir: string, report: ReportJson): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const [json, markdown, html] = outputNames.map((name) => join(dir, name));
  await Promise.all([writeFile(json!, `${JSON.stringify(report, null, 2)}\n`), writeFile(markdown!, renderMarkdown(report)), writeFile(html!, renderHtml(report))]);
  return [json!, markdown!, html!];
}
