import type { MatrixCell } from './access-matrix.js';
import { describePair } from './describe.js';
import { escapeMarkdown as md } from './escape.js';
import type { Severity } from './findings/finding.js';
import type { ReportJson } from './report.js';

// A summary stays readable; report.json and report.html have everything.
const maxFindingsPerSeverity = 100;
const maxMatrixRows = 500;

/** report.md: the summary an operator reads first. */
export function renderMarkdown(report: ReportJson): string {
  return [header(report), findings(report), matrix(report), unknownServices(report), actingFor(report), logs(report), policies(report)].join('\n');
}

function header(report: ReportJson): string {
  const { summary, window, logs } = report;
  const windowText = window.from === null ? `up to ${window.to}` : `${window.from} to ${window.to}${window.since === null ? '' : ` (last ${window.since})`}`;
  return [
    '# gatehouse access review',
    '',
    `Generated ${report.generatedAt} from the policy set in ${md(report.policySet.dir)} (version ${md(report.policySet.version)}, ${report.policySet.policies.length} policies) and the inventory ${md(report.inventory.file)}.`,
    '',
    '| | |',
    '|---|---|',
    `| identities | ${summary.identities} (${report.inventory.workloads} inventory workloads${report.inventory.users > 0 ? `, ${report.inventory.users} ${report.inventory.users === 1 ? 'person' : 'people'}` : ''} and the anonymous caller) |`,
    `| services | ${summary.services} |`,
    `| cells allowed on every representative path | ${summary.cells.allow} |`,
    `| cells allowed on some paths only | ${summary.cells.conditional} |`,
    `| log window | ${md(windowText)} |`,
    logs === null
      ? '| decisions read | no log given: findings about use are left out |'
      : `| decisions read | ${logs.decisions} in the window; ${logs.files.reduce((sum, file) => sum + file.outsideWindow, 0)} outside it; ${logs.malformed.count} malformed lines${logs.dropped > 0 ? `; ${logs.dropped} over the aggregation limits` : ''} |`,
    `| findings | ${summary.findings.high} high, ${summary.findings.medium} medium, ${summary.findings.low} low |`,
    '',
  ].join('\n');
}

function findings(report: ReportJson): string {
  const lines = ['## Findings', ''];
  if (report.findings.length === 0) lines.push('None.', '');
  for (const severity of ['high', 'medium', 'low'] as const satisfies readonly Severity[]) {
    const found = report.findings.filter((finding) => finding.severity === severity);
    if (found.length === 0) continue;
    lines.push(`### ${severity[0]!.toUpperCase()}${severity.slice(1)} (${found.length})`, '');
    for (const finding of found.slice(0, maxFindingsPerSeverity)) lines.push(`- **${finding.kind}**: ${md(finding.message)}`);
    if (found.length > maxFindingsPerSeverity) lines.push(`- … and ${found.length - maxFindingsPerSeverity} more in report.json`);
    lines.push('');
  }
  return lines.join('\n');
}

function matrix(report: ReportJson): string {
  const pairs = new Map<string, MatrixCell[]>();
  for (const cell of report.matrix.cells) {
    const key = `${cell.principal}\n${cell.service}`;
    const list = pairs.get(key);
    if (list === undefined) pairs.set(key, [cell]);
    else list.push(cell);
  }
  const lines = [
    '## Access matrix',
    '',
    `Who may call what, from Cedar over representative requests (the path \`/\` and a path for each path condition of the policies, from source ${md(report.matrix.sourceIp)}). Every identity × service × action not listed is denied.`,
    '',
  ];
  if (pairs.size === 0) return [...lines, 'No identity of the inventory may call any of its services.', ''].join('\n');
  lines.push('| identity | service | access | granted by |', '|---|---|---|---|');
  for (const cells of [...pairs.values()].slice(0, maxMatrixRows)) {
    const first = cells[0]!;
    const policies = [...new Set(cells.flatMap((cell) => cell.policies))];
    lines.push(`| ${md(first.principal)} | ${md(first.service)} | ${describePair(cells).map(md).join('<br>')} | ${policies.map(md).join(', ')} |`);
  }
  if (pairs.size > maxMatrixRows) lines.push('', `… and ${pairs.size - maxMatrixRows} more identity × service pairs in report.json and report.html.`);
  lines.push('');
  return lines.join('\n');
}

function unknownServices(report: ReportJson): string {
  if (report.unknownServices === null) return '';
  const lines = [
    '## Services outside the inventory',
    '',
    'Services the decision log names but the inventory does not list: the matrix above says nothing about who may call them.',
    '',
  ];
  if (report.unknownServices.length === 0) return [...lines, 'None.', ''].join('\n');
  lines.push('| service | allowed | denied | errors | callers | busiest callers | first seen | last seen |', '|---|---|---|---|---|---|---|---|');
  for (const service of report.unknownServices.slice(0, maxMatrixRows)) {
    const callers = service.topCallers.map((caller) => `${md(caller.principal || '(no identity)')} (${caller.allow} ✓ / ${caller.deny} ✗)`).join('<br>');
    lines.push(`| ${md(service.name)} | ${service.allow} | ${service.deny} | ${service.error} | ${service.callers} | ${callers} | ${service.firstSeen} | ${service.lastSeen} |`);
  }
  if (report.unknownServices.length > maxMatrixRows) lines.push('', `… and ${report.unknownServices.length - maxMatrixRows} more in report.json.`);
  lines.push('');
  return lines.join('\n');
}

function actingFor(report: ReportJson): string {
  if (report.logs === null) return '';
  const { edges, dropped } = report.logs.actingFor;
  const lines = [
    '## Who acted for whom',
    '',
    'Decisions where a workload presented another principal\'s authority (the log\'s `actor`): a person\'s token carried over mTLS, or a token\'s `act` chain.',
    '',
  ];
  if (edges.length === 0) return [...lines, 'None in the window.', ''].join('\n');
  lines.push('| actor | class | for | service | action | allowed | denied | errors | first seen | last seen |', '|---|---|---|---|---|---|---|---|---|---|');
  for (const edge of edges.slice(0, maxMatrixRows)) {
    lines.push(`| ${md(edge.actor)} | ${md(edge.actorClass)} | ${md(edge.principal || '(no identity)')} | ${md(edge.service)} | ${md(edge.action)} | ${edge.allow} | ${edge.deny} | ${edge.error} | ${edge.firstSeen} | ${edge.lastSeen} |`);
  }
  if (edges.length > maxMatrixRows) lines.push('', `… and ${edges.length - maxMatrixRows} more in report.json.`);
  if (dropped > 0) lines.push('', `${dropped} decisions with an actor are left out: the log named more distinct edges than the limit.`);
  lines.push('');
  return lines.join('\n');
}

function logs(report: ReportJson): string {
  if (report.logs === null) return '';
  const { files, malformed, policyVersions } = report.logs;
  const lines = ['## Decision logs', '', '| file | lines | in window | outside window | malformed | duplicates |', '|---|---|---|---|---|---|'];
  for (const file of files) lines.push(`| ${md(file.name)} | ${file.lines} | ${file.inWindow} | ${file.outsideWindow} | ${file.malformed} | ${file.duplicates} |`);
  lines.push('');
  const versions = Object.entries(policyVersions);
  if (versions.length > 1) lines.push(`The window spans ${versions.length} policy-set versions: ${versions.map(([version, count]) => `${md(version || '(none)')} (${count})`).join(', ')}.`, '');
  if (malformed.count > 0) {
    lines.push(`${malformed.count} malformed lines were skipped:`, '');
    for (const [reason, count] of Object.entries(malformed.byReason)) lines.push(`- ${md(reason)}: ${count}`);
    lines.push('', 'First ones:', '');
    for (const example of malformed.examples) lines.push(`- ${md(example.file)}:${example.line}: ${md(example.reason)}`);
    lines.push('');
  }
  return lines.join('\n');
}

function policies(report: ReportJson): string {
  const lines = ['## Policies', '', '| policy | effect | where | scope | decisions in window |', '|---|---|---|---|---|'];
  for (const policy of report.policySet.policies) {
    const scope = `${policy.scope.principal}, ${policy.scope.action}, ${policy.scope.resource}`;
    lines.push(`| ${md(policy.id)} | ${policy.effect} | ${md(policy.file)}:${policy.line} | ${md(scope)} | ${policy.decisions ?? '—'} |`);
  }
  lines.push('');
  return lines.join('\n');
}
