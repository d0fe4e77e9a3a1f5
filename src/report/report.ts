import type { ActingForSummary } from './acting-for.js';
import { matrixActions, type AccessMatrix, type EvaluationError, type MatrixCell } from './access-matrix.js';
import type { AnalyzedPolicy } from './analyzed-policy.js';
import { findingKinds, type Finding, type FindingKind, type Severity } from './findings/finding.js';
import type { Inventory } from './inventory.js';
import type { ObservedSummary, ObservedUse, PrincipalActivity } from './observed-use.js';
import { scopeText } from './policy-scope.js';
import type { LogFileStats, LogReadResult } from './read-logs.js';
import type { ReviewIdentity } from './review-identity.js';
import type { UnknownService } from './service-traffic.js';
import type { TimeWindow } from './window.js';

/** The `format` of report.json; a change that breaks readers gets a new one. */
const reportFormat = 'gatehouse-access-review/v1';

/** report.json (docs/report.md, "report.json"). */
export interface ReportJson {
  readonly format: typeof reportFormat;
  readonly generatedAt: string;
  readonly window: { readonly since: string | null; readonly from: string | null; readonly to: string };
  readonly policySet: {
    readonly dir: string;
    readonly version: string;
    readonly policies: readonly ReportPolicy[];
  };
  readonly inventory: { readonly file: string; readonly workloads: number; readonly users: number; readonly services: number };
  /** The matrix rows: every inventory workload, then `Anonymous::"anonymous"`. */
  readonly identities: readonly ReportIdentity[];
  /** The matrix columns' services, as the inventory lists them. */
  readonly services: readonly { readonly name: string; readonly namespace: string | null }[];
  /** Services the decision log names and the inventory does not, busiest first; null without logs. */
  readonly unknownServices: readonly UnknownService[] | null;
  readonly matrix: {
    readonly actions: readonly string[];
    /** Source address of the representative requests. */
    readonly sourceIp: string;
    readonly evaluations: number;
    /** Cells that are `allow` or `conditional`; every other identity × service × action is `deny`. */
    readonly cells: readonly MatrixCell[];
    readonly errors: readonly EvaluationError[];
  };
  /** Null when no log was given. */
  readonly logs: ReportLogs | null;
  readonly findings: readonly Finding[];
  readonly summary: {
    readonly identities: number;
    readonly services: number;
    readonly cells: { readonly allow: number; readonly conditional: number };
    readonly findings: Readonly<Record<Severity, number>> & { readonly byKind: Readonly<Record<FindingKind, number>> };
  };
}

export interface ReportPolicy {
  readonly id: string;
  readonly file: string;
  readonly line: number;
  readonly effect: 'permit' | 'forbid';
  readonly scope: { readonly principal: string; readonly action: string; readonly resource: string };
  /** Decisions it determined in the window; null without logs. */
  readonly decisions: number | null;
}

export interface ReportIdentity {
  readonly principal: string;
  readonly class: string;
  readonly namespace: string | null;
  readonly inInventory: boolean;
}

export interface ReportLogs {
  readonly files: readonly LogFileStats[];
  /** Decisions inside the window that were counted. */
  readonly decisions: number;
  /** Decisions left out because the log named more distinct keys than the aggregation limits allow. */
  readonly dropped: number;
  readonly malformed: LogReadResult['malformed'];
  readonly policyVersions: Readonly<Record<string, number>>;
  readonly uses: readonly ObservedUse[];
  readonly principals: readonly PrincipalActivity[];
  /** Who acted for whom: decisions whose line names an `actor`, by actor, principal, service and action. */
  readonly actingFor: ActingForSummary;
}

export interface ReportParts {
  readonly generatedAt: Date;
  readonly window: TimeWindow;
  readonly since: string | undefined;
  readonly policyDir: string;
  readonly policyVersion: string;
  readonly policies: readonly AnalyzedPolicy[];
  readonly inventoryFile: string;
  readonly inventory: Inventory;
  readonly identities: readonly ReviewIdentity[];
  readonly matrix: AccessMatrix;
  readonly sourceIp: string;
  readonly logs: { readonly read: LogReadResult; readonly observed: ObservedSummary; readonly unknownServices: readonly UnknownService[]; readonly actingFor: ActingForSummary } | undefined;
  readonly findings: readonly Finding[];
}

export function buildReport(parts: ReportParts): ReportJson {
  const observed = parts.logs?.observed;
  const severities: Record<Severity, number> = { high: 0, medium: 0, low: 0 };
  const byKind = Object.fromEntries(findingKinds.map((kind) => [kind, 0])) as Record<FindingKind, number>;
  for (const finding of parts.findings) {
    severities[finding.severity] += 1;
    byKind[finding.kind] += 1;
  }
  return {
    format: reportFormat,
    generatedAt: parts.generatedAt.toISOString(),
    window: {
      since: parts.since ?? null,
      from: parts.window.fromMs === undefined ? null : new Date(parts.window.fromMs).toISOString(),
      to: new Date(parts.window.toMs).toISOString(),
    },
    policySet: {
      dir: parts.policyDir,
      version: parts.policyVersion,
      policies: parts.policies.map((policy) => ({
        id: policy.id,
        file: policy.file,
        line: policy.line,
        effect: policy.effect,
        scope: scopeText(policy.scope),
        decisions: observed === undefined ? null : (observed.policyDecisions.get(policy.id) ?? 0),
      })),
    },
    inventory: { file: parts.inventoryFile, workloads: parts.inventory.workloads.length, users: parts.inventory.users.length, services: parts.inventory.services.length },
    identities: parts.identities.map((identity) => ({
      principal: identity.principal,
      class: identity.class,
      namespace: identity.namespace ?? null,
      inInventory: identity.inInventory,
    })),
    services: parts.inventory.services.map((service) => ({ name: service.name, namespace: service.namespace ?? null })),
    unknownServices: parts.logs?.unknownServices ?? null,
    matrix: { actions: [...matrixActions], sourceIp: parts.sourceIp, evaluations: parts.matrix.evaluations, cells: parts.matrix.cells, errors: parts.matrix.errors },
    logs:
      parts.logs === undefined
        ? null
        : {
            files: parts.logs.read.files,
            decisions: parts.logs.observed.decisions,
            dropped: parts.logs.observed.dropped,
            malformed: parts.logs.read.malformed,
            policyVersions: parts.logs.observed.policyVersions,
            uses: parts.logs.observed.uses,
            principals: parts.logs.observed.principals,
            actingFor: parts.logs.actingFor,
          },
    findings: parts.findings,
    summary: {
      identities: parts.identities.length,
      services: parts.inventory.services.length,
      cells: {
        allow: parts.matrix.cells.filter((cell) => cell.access === 'allow').length,
        conditional: parts.matrix.cells.filter((cell) => cell.access === 'conditional').length,
      },
      findings: { ...severities, byKind },
    },
  };
}
