import { matrixActions, type MatrixCell } from './access-matrix.js';
import { describeConditions } from './describe.js';
import { escapeHtml as h } from './escape.js';
import { renderGraph, type GraphEdge, type GraphNode } from './graph-svg.js';
import { pageScript, pageStyle } from './html-assets.js';
import type { ObservedUse } from './observed-use.js';
import type { ReportIdentity, ReportJson } from './report.js';

// The page loads nothing from anywhere: no network, no other file. Inline style and script only.
const contentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

const noNamespace = '(none)';

// Denied-only pairs can be as many as identities × services; a page stays usable with the worst few.
const maxDeniedOnlyRows = 500;

/** One matrix row: an identity and a service with access or observed traffic between them. */
interface PairRow {
  readonly identity: ReportIdentity;
  readonly identityIndex: number;
  readonly service: { name: string; namespace: string | null };
  readonly serviceIndex: number;
  readonly cells: Map<string, MatrixCell>;
  readonly uses: Map<string, ObservedUse>;
}

/** report.html: one self-contained page with the graph, the filterable matrix and the findings. */
export function renderHtml(report: ReportJson): string {
  const { rows, deniedOnlyLeftOut } = pairRows(report);
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>gatehouse access review</title>',
    `<style>${pageStyle}</style></head><body>`,
    header(report),
    filters(report),
    graph(rows),
    matrix(rows, deniedOnlyLeftOut),
    unknownServices(report),
    actingFor(report),
    findings(report),
    logs(report),
    policies(report),
    `<script>${pageScript}</script>`,
    '</body></html>',
    '',
  ].join('\n');
}

/**
 * Pairs with access or with allowed requests, all of them; pairs with only denied requests, the
 * most denied first up to a limit (report.json keeps every one).
 */
function pairRows(report: ReportJson): { rows: PairRow[]; deniedOnlyLeftOut: number } {
  const identityIndex = new Map(report.identities.map((identity, index) => [identity.principal, index]));
  const serviceIndex = new Map(report.services.map((service, index) => [service.name, index]));
  const pairs = new Map<string, PairRow>();
  const row = (principal: string, service: string): PairRow | undefined => {
    const i = identityIndex.get(principal);
    const s = serviceIndex.get(service);
    if (i === undefined || s === undefined) return undefined;
    const key = `${i}:${s}`;
    let found = pairs.get(key);
    if (found === undefined) {
      found = { identity: report.identities[i]!, identityIndex: i, service: report.services[s]!, serviceIndex: s, cells: new Map(), uses: new Map() };
      pairs.set(key, found);
    }
    return found;
  };
  for (const cell of report.matrix.cells) row(cell.principal, cell.service)?.cells.set(cell.action, cell);
  for (const use of report.logs?.uses ?? []) row(use.principal, use.service)?.uses.set(use.action, use);
  const all = [...pairs.values()];
  const denies = (pair: PairRow): number => [...pair.uses.values()].reduce((sum, use) => sum + use.deny, 0);
  const isDeniedOnly = (pair: PairRow): boolean => pair.cells.size === 0 && [...pair.uses.values()].every((use) => use.allow === 0);
  const deniedOnly = all.filter(isDeniedOnly);
  const kept = new Set(deniedOnly.sort((a, b) => denies(b) - denies(a)).slice(0, maxDeniedOnlyRows));
  const rows = all.filter((pair) => kept.has(pair) || !isDeniedOnly(pair));
  return {
    rows: rows.sort((a, b) => a.identityIndex - b.identityIndex || a.serviceIndex - b.serviceIndex),
    deniedOnlyLeftOut: deniedOnly.length - kept.size,
  };
}

function filterData(row: PairRow): Record<string, string> {
  return {
    cns: row.identity.namespace ?? noNamespace,
    sns: row.service.namespace ?? noNamespace,
    cls: row.identity.class,
    act: [...row.cells.keys()].join(' '),
  };
}

function dataAttributes(data: Record<string, string>): string {
  return Object.entries(data)
    .map(([name, value]) => ` data-${name}="${h(value)}"`)
    .join('');
}

function header(report: ReportJson): string {
  const { summary, window, logs } = report;
  const card = (value: number | string, label: string): string => `<div class="card"><b>${h(String(value))}</b><span>${h(label)}</span></div>`;
  const windowText = window.from === null ? `up to ${window.to}` : `${window.from} to ${window.to}`;
  return [
    '<h1>gatehouse access review</h1>',
    `<p class="meta">Generated ${h(report.generatedAt)} · policy set ${h(report.policySet.dir)} (version ${h(report.policySet.version)}, ${report.policySet.policies.length} policies) · inventory ${h(report.inventory.file)} · log window ${h(windowText)}</p>`,
    '<div class="cards">',
    card(summary.identities, 'identities'),
    card(summary.services, 'services'),
    card(summary.cells.allow, 'cells allowed on any path'),
    card(summary.cells.conditional, 'cells allowed on some paths'),
    card(logs === null ? 'no log' : logs.decisions, 'decisions in window'),
    card(logs === null ? '—' : logs.malformed.count, 'malformed log lines'),
    card(summary.findings.high, 'high findings'),
    card(summary.findings.medium, 'medium findings'),
    card(summary.findings.low, 'low findings'),
    '</div>',
    '<nav><a href="#graph">graph</a> · <a href="#matrix">matrix</a> · <a href="#unknown-services">services outside the inventory</a> · <a href="#acting-for">who acted for whom</a> · <a href="#findings">findings</a> · <a href="#logs">logs</a> · <a href="#policies">policies</a></nav>',
  ].join('\n');
}

function filters(report: ReportJson): string {
  const options = (values: Iterable<string>): string =>
    [...new Set(values)]
      .sort()
      .map((value) => `<option value="${h(value)}">${h(value)}</option>`)
      .join('');
  const callerNamespaces = report.identities.map((identity) => identity.namespace ?? noNamespace);
  const serviceNamespaces = report.services.map((service) => service.namespace ?? noNamespace);
  const classes = report.identities.map((identity) => identity.class);
  const select = (id: string, label: string, all: string, body: string): string => `<label>${label}<select id="${id}"><option value="">${all}</option>${body}</select></label>`;
  return [
    '<div id="filters">',
    select('f-cns', 'caller namespace', 'all', options(callerNamespaces)),
    select('f-cls', 'class', 'all', options(classes)),
    select('f-sns', 'service namespace', 'all', options(serviceNamespaces)),
    select('f-act', 'action', 'any', matrixActions.map((action) => `<option value="${action}">${action}</option>`).join('')),
    '<button type="button" id="f-reset">reset</button>',
    '<span id="row-count"></span> <span id="edge-count" class="legend"></span>',
    '</div>',
  ].join('\n');
}

function graph(rows: readonly PairRow[]): string {
  const withAccess = rows.filter((row) => row.cells.size > 0);
  const identities = new Map<number, GraphNode>();
  const services = new Map<number, GraphNode>();
  const edges: GraphEdge[] = [];
  for (const row of withAccess) {
    identities.set(row.identityIndex, { id: `i${row.identityIndex}`, label: shortName(row.identity), title: `${row.identity.principal} (${row.identity.class})` });
    services.set(row.serviceIndex, { id: `s${row.serviceIndex}`, label: row.service.name, title: `Service::${JSON.stringify(row.service.name)}` });
    const cells = [...row.cells.values()];
    const used = [...row.uses.values()].some((use) => use.allow > 0);
    edges.push({
      from: `i${row.identityIndex}`,
      to: `s${row.serviceIndex}`,
      access: cells.some((cell) => cell.access === 'allow') ? 'allow' : 'conditional',
      used,
      title: `${row.identity.principal} → ${row.service.name}: ${cells.map((cell) => `${cell.action} ${cell.access}`).join(', ')}${used ? '' : ' (not used in the window)'}`,
      data: filterData(row),
    });
  }
  const byIndex = (nodes: Map<number, GraphNode>): GraphNode[] => [...nodes].sort((a, b) => a[0] - b[0]).map(([, node]) => node);
  return [
    '<h2 id="graph">Who can call what</h2>',
    '<p class="legend">Each line is an identity that may call a service.<i style="border-color:#1f7a3d"></i>used in the window<i style="border-color:#9aa3ad"></i>not used<i style="border-top-style:dashed"></i>only on some paths (conditional)</p>',
    `<div id="graph-wrap">${renderGraph(byIndex(identities), byIndex(services), edges)}</div>`,
  ].join('\n');
}

function matrix(rows: readonly PairRow[], deniedOnlyLeftOut: number): string {
  const head = `<tr><th>identity</th><th>class</th><th>service</th>${matrixActions.map((action) => `<th data-col="${action}">${action}</th>`).join('')}<th>granted by</th></tr>`;
  const body = rows.map((row) => {
    const cells = matrixActions.map((action) => actionCell(action, row.cells.get(action), row.uses.get(action))).join('');
    const policies = [...new Set([...row.cells.values()].flatMap((cell) => cell.policies))];
    return `<tr${dataAttributes(filterData(row))}><td class="mono" title="${h(row.identity.principal)}">${h(shortName(row.identity))}</td><td>${h(row.identity.class)}</td><td class="mono">${h(row.service.name)}</td>${cells}<td class="mono">${policies.map(h).join('<br>')}</td></tr>`;
  });
  return [
    '<h2 id="matrix">Access matrix</h2>',
    '<p class="legend">Rows are identity × service pairs with access or with decisions in the log; every pair not shown is denied for every action. <b class="c-allow">allow</b>: every representative request allowed; <b class="c-cond">cond.</b>: only some (hover for which); small print: allowed / denied decisions in the window.</p>',
    `<table id="matrix-table"><thead>${head}</thead><tbody>`,
    ...body,
    '</tbody></table>',
    deniedOnlyLeftOut === 0 ? '' : `<p class="legend">${deniedOnlyLeftOut} more pairs with only denied requests are left out here; report.json lists every (principal, service, action) seen.</p>`,
  ].join('\n');
}

function actionCell(action: string, cell: MatrixCell | undefined, use: ObservedUse | undefined): string {
  const seen = use === undefined ? '' : `<small>${use.allow} ✓ / ${use.deny} ✗</small>`;
  if (cell === undefined) return `<td class="a c-deny" data-col="${action}" title="deny">–${seen}</td>`;
  const title = [cell.access === 'allow' ? 'allowed on every representative request' : describeConditions(cell), `granted by ${cell.policies.join(', ')}`].join('\n');
  const label = cell.access === 'allow' ? 'allow' : 'cond.';
  return `<td class="a ${cell.access === 'allow' ? 'c-allow' : 'c-cond'}" data-col="${action}" title="${h(title)}">${label}${seen}</td>`;
}

function unknownServices(report: ReportJson): string {
  const title = '<h2 id="unknown-services">Services outside the inventory</h2>';
  if (report.unknownServices === null) return `${title}<p class="legend">No decision log was given.</p>`;
  const rows = report.unknownServices.map((service) => {
    const callers = service.topCallers.map((caller) => `${h(caller.principal || '(no identity)')} <small>${caller.allow} ✓ / ${caller.deny} ✗</small>`).join('<br>');
    return `<tr><td class="mono">${h(service.name)}</td><td>${service.allow}</td><td>${service.deny}</td><td>${service.error}</td><td>${service.callers}</td><td class="mono">${callers}</td><td>${h(service.firstSeen)}</td><td>${h(service.lastSeen)}</td></tr>`;
  });
  return [
    title,
    '<p class="legend">Services the decision log names but the inventory does not list: the matrix says nothing about who may call them.</p>',
    rows.length === 0
      ? '<p>None.</p>'
      : `<table id="unknown-services-table"><thead><tr><th>service</th><th>allowed</th><th>denied</th><th>errors</th><th>callers</th><th>busiest callers</th><th>first seen</th><th>last seen</th></tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`,
  ].join('\n');
}

function actingFor(report: ReportJson): string {
  const title = '<h2 id="acting-for">Who acted for whom</h2>';
  if (report.logs === null) return `${title}<p class="legend">No decision log was given.</p>`;
  const { edges, dropped } = report.logs.actingFor;
  const rows = edges.map(
    (edge) =>
      `<tr><td class="mono">${h(edge.actor)}</td><td>${h(edge.actorClass)}</td><td class="mono">${h(edge.principal || '(no identity)')}</td><td class="mono">${h(edge.service)}</td><td>${h(edge.action)}</td><td>${edge.allow}</td><td>${edge.deny}</td><td>${edge.error}</td><td>${h(edge.firstSeen)}</td><td>${h(edge.lastSeen)}</td></tr>`,
  );
  return [
    title,
    '<p class="legend">Decisions where a workload (the actor) presented another principal\'s authority: a person\'s token over mTLS, or a token\'s <code>act</code> chain.</p>',
    rows.length === 0
      ? '<p>None in the window.</p>'
      : `<table id="acting-for-table"><thead><tr><th>actor</th><th>class</th><th>for</th><th>service</th><th>action</th><th>allowed</th><th>denied</th><th>errors</th><th>first seen</th><th>last seen</th></tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`,
    dropped === 0 ? '' : `<p class="legend">${dropped} decisions with an actor are left out: the log named more distinct edges than the limit.</p>`,
  ].join('\n');
}

function findings(report: ReportJson): string {
  const rows = report.findings.map(
    (finding) => `<tr data-kind="${h(finding.kind)}" data-sev="${finding.severity}"><td><span class="sev sev-${finding.severity}">${finding.severity}</span></td><td>${h(finding.kind)}</td><td class="mono">${h(finding.message)}</td></tr>`,
  );
  return [
    '<h2 id="findings">Findings</h2>',
    report.logs === null ? '<p class="legend">No decision log was given: only findings about the policies themselves are listed.</p>' : '',
    rows.length === 0 ? '<p>None.</p>' : `<table id="findings-table"><thead><tr><th>severity</th><th>kind</th><th>finding</th></tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`,
  ].join('\n');
}

function logs(report: ReportJson): string {
  if (report.logs === null) return '<h2 id="logs">Decision logs</h2><p>None given.</p>';
  const { files, malformed } = report.logs;
  const fileRows = files.map((file) => `<tr><td class="mono">${h(file.name)}</td><td>${file.lines}</td><td>${file.inWindow}</td><td>${file.outsideWindow}</td><td>${file.malformed}</td><td>${file.duplicates}</td></tr>`);
  const reasons = Object.entries(malformed.byReason).map(([reason, count]) => `<li>${h(reason)}: ${count}</li>`);
  const examples = malformed.examples.map((example) => `<li class="mono">${h(example.file)}:${example.line}: ${h(example.reason)}: ${h(example.sample)}</li>`);
  return [
    '<h2 id="logs">Decision logs</h2>',
    `<table><thead><tr><th>file</th><th>lines</th><th>in window</th><th>outside window</th><th>malformed</th><th>duplicates</th></tr></thead><tbody>${fileRows.join('')}</tbody></table>`,
    malformed.count === 0 ? '' : `<p>${malformed.count} malformed lines skipped:</p><ul>${reasons.join('')}</ul><p>First ones:</p><ul>${examples.join('')}</ul>`,
  ].join('\n');
}

function policies(report: ReportJson): string {
  const rows = report.policySet.policies.map(
    (policy) =>
      `<tr><td class="mono">${h(policy.id)}</td><td>${policy.effect}</td><td class="mono">${h(policy.file)}:${policy.line}</td><td class="mono">${h(`${policy.scope.principal}, ${policy.scope.action}, ${policy.scope.resource}`)}</td><td>${policy.decisions ?? '—'}</td></tr>`,
  );
  return [
    '<h2 id="policies">Policies</h2>',
    `<table><thead><tr><th>policy</th><th>effect</th><th>where</th><th>scope</th><th>decisions in window</th></tr></thead><tbody>${rows.join('')}</tbody></table>`,
  ].join('\n');
}

/** `shop/frontend` for a Kubernetes workload, the SPIFFE ID otherwise, `anonymous` for no credential. */
function shortName(identity: ReportIdentity): string {
  const kubernetes = /^Workload::"spiffe:\/\/[^/]+\/ns\/([^/]+)\/sa\/([^/"]+)"$/.exec(identity.principal);
  if (kubernetes) return `${kubernetes[1]}/${kubernetes[2]}`;
  if (identity.class === 'anonymous') return 'anonymous';
  return identity.principal.replace(/^Workload::"(.*)"$/, '$1');
}
