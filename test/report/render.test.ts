import { computeAccessMatrix } from '../../src/report/access-matrix.js';
import { analyzePolicies } from '../../src/report/analyzed-policy.js';
import { ActingForAggregator } from '../../src/report/acting-for.js';
import { allFindings } from '../../src/report/findings/all-findings.js';
import { UseAggregator } from '../../src/report/observed-use.js';
import { renderHtml } from '../../src/report/render-html.js';
import { renderMarkdown } from '../../src/report/render-markdown.js';
import { buildReport, type ReportJson } from '../../src/report/report.js';
import { reviewIdentities } from '../../src/report/review-identity.js';
import { servicesOutsideInventory } from '../../src/report/service-traffic.js';
import { exampleEngine, exampleInventoryYaml, ids, inventoryOf, principal } from './fixtures.js';

const hostile = 'Workload::"spiffe://evil/<script>alert(1)</script>|`x`"';

async function exampleReport(): Promise<ReportJson> {
  const engine = await exampleEngine();
  const inventory = inventoryOf(exampleInventoryYaml);
  const policies = analyzePolicies(engine);
  const identities = reviewIdentities(inventory);
  const matrix = computeAccessMatrix(engine, policies, identities, inventory.services, { sourceIp: '10.0.0.1' });
  const aggregator = new UseAggregator();
  const t = Date.UTC(2025, 0, 31, 11);
  aggregator.add({ timeMs: t, principal: principal(ids.frontend), service: 'orders.shop', action: 'GET', path: '/', decision: 'allow', policies: ['frontend-reads-orders'], reason: '', policyVersion: engine.version });
  for (let i = 0; i < 3; i++) aggregator.add({ timeMs: t, principal: hostile, service: 'orders.shop', action: 'DELETE', path: '/', decision: 'deny', policies: [], reason: '<b>bold</b>', policyVersion: engine.version });
  aggregator.add({ timeMs: t, principal: principal(ids.frontend), service: 'ledger.<i>finance</i>', action: 'GET', path: '/', decision: 'allow', policies: [], reason: '', policyVersion: engine.version });
  aggregator.add({ timeMs: t, principal: principal(ids.builder), service: 'orders.shop', action: 'GET', path: '/', decision: 'deny', policies: [], reason: 'policy_denied', policyVersion: engine.version, class: 'service' });
  const observed = aggregator.summary();
  const unknownServices = servicesOutsideInventory(inventory.services, observed.uses);
  const acting = new ActingForAggregator();
  acting.add({ timeMs: t, principal: 'User::"alice"', service: 'orders.shop', action: 'POST', path: '/', decision: 'allow', policies: [], reason: '', policyVersion: engine.version, actor: principal(ids.builder), actorClass: 'build' });
  acting.add({ timeMs: t, principal: 'User::"<u>bob</u>"', service: 'orders.shop', action: 'GET', path: '/', decision: 'deny', policies: [], reason: 'policy_denied', policyVersion: engine.version, actor: hostile });
  const actingFor = acting.summary(inventory.workloads);
  const read = { files: [{ name: 'decisions.log', lines: 4, inWindow: 4, outsideWindow: 0, malformed: 1, duplicates: 0 }], malformed: { count: 1, byReason: { 'not JSON': 1 }, examples: [{ file: 'decisions.log', line: 5, reason: 'not JSON', sample: '<img src=x onerror=alert(2)>' }] } };
  const findings = allFindings({ inventory, policies, matrix, observed, unknownServices, actingFor: actingFor.edges, actorClasses: acting.loggedClasses(), denyThreshold: 2 });
  return buildReport({
    generatedAt: new Date(Date.UTC(2025, 0, 31, 12)),
    window: { fromMs: Date.UTC(2025, 0, 30, 12), toMs: Date.UTC(2025, 0, 31, 12) },
    since: '24h',
    policyDir: 'policies',
    policyVersion: engine.version,
    policies,
    inventoryFile: 'inventory.yaml',
    inventory,
    identities,
    matrix,
    sourceIp: '10.0.0.1',
    logs: { read, observed, unknownServices, actingFor },
    findings,
  });
}

describe('rendering', () => {
  let report: ReportJson;
  beforeAll(async () => {
    report = await exampleReport();
  });

  test('the JSON summary counts what the report holds', () => {
    expect(report.format).toBe('gatehouse-access-review/v1');
    expect(report.window).toEqual({ since: '24h', from: '2025-01-30T12:00:00.000Z', to: '2025-01-31T12:00:00.000Z' });
    expect(report.summary.identities).toBe(7);
    expect(report.summary.services).toBe(4);
    expect(report.summary.cells).toEqual({ allow: 0, conditional: report.matrix.cells.length });
    expect(report.summary.findings.byKind['repeated-denies']).toBe(1);
    expect(report.summary.findings.high + report.summary.findings.medium + report.summary.findings.low).toBe(report.findings.length);
    expect(report.policySet.policies.find((policy) => policy.id === 'frontend-reads-orders')?.decisions).toBe(1);
  });

  test('a service outside the inventory and a class the server logged otherwise are reported', () => {
    expect(report.unknownServices).toEqual([expect.objectContaining({ name: 'ledger.<i>finance</i>', allow: 1, callers: 1 })]);
    expect(report.summary.findings.byKind['unknown-service']).toBe(1);
    expect(report.findings).toContainEqual(expect.objectContaining({ kind: 'class-mismatch', severity: 'high', principal: principal(ids.builder), loggedClasses: { service: 1 } }));
  });

  test('services outside the inventory have a section of their own in Markdown and HTML, escaped', () => {
    const markdown = renderMarkdown(report);
    expect(markdown).toContain('## Services outside the inventory');
    expect(markdown).toContain(`| ledger.&lt;i&gt;finance&lt;/i&gt; | 1 | 0 | 0 | 1 | ${principal(ids.frontend)} (1 ✓ / 0 ✗) |`);
    const html = renderHtml(report);
    expect(html).toContain('<table id="unknown-services-table">');
    expect(html).toContain('<td class="mono">ledger.&lt;i&gt;finance&lt;/i&gt;</td><td>1</td><td>0</td><td>0</td><td>1</td>');
    expect(html).not.toContain('<i>finance');
  });

  test('who acted for whom has a section of its own in Markdown and HTML, escaped, and a build job writing for a person is a finding', () => {
    expect(report.logs?.actingFor.edges.map((edge) => [edge.actor, edge.actorClass, edge.principal, edge.action, edge.allow, edge.deny])).toEqual([
      [principal(ids.builder), 'build', 'User::"alice"', 'POST', 1, 0],
      [hostile, 'unknown', 'User::"<u>bob</u>"', 'GET', 0, 1],
    ]);
    expect(report.summary.findings.byKind['delegated-write']).toBe(1);
    const markdown = renderMarkdown(report);
    expect(markdown).toContain('## Who acted for whom');
    expect(markdown).toContain(`| ${principal(ids.builder)} | build | User::"alice" | orders.shop | POST | 1 | 0 | 0 | 2025-01-31T11:00:00.000Z | 2025-01-31T11:00:00.000Z |`);
    expect(markdown).toContain('| User::"&lt;u&gt;bob&lt;/u&gt;" | orders.shop | GET | 0 | 1 | 0 |');
    const html = renderHtml(report);
    expect(html).toContain('<table id="acting-for-table">');
    expect(html).toContain(`<tr><td class="mono">${principal(ids.builder).replaceAll('"', '&quot;')}</td><td>build</td><td class="mono">User::&quot;alice&quot;</td><td class="mono">orders.shop</td><td>POST</td><td>1</td><td>0</td><td>0</td>`);
    expect(html).not.toContain('<u>bob');
  });

  test('HTML: log text never becomes markup, and the page loads nothing from outside', () => {
    const html = renderHtml(report);
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img src=x');
    expect(html).not.toContain('<b>bold');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain("default-src 'none'");
    expect(html).not.toMatch(/\b(src|href)="(https?:)?\/\//);
    expect(html.match(/<script>/g)).toHaveLength(1);
  });

  test('HTML: the graph, the matrix and the filters are there', () => {
    const html = renderHtml(report);
    expect(html).toContain('<svg xmlns="http://www.w3.org/2000/svg" id="graph-svg"');
    expect(html.match(/<path class="edge /g)?.length).toBe(17);
    expect(html).toContain('<table id="matrix-table">');
    for (const id of ['f-cns', 'f-cls', 'f-sns', 'f-act', 'f-reset']) expect(html).toContain(`id="${id}"`);
  });

  test('Markdown: log text cannot break a table or inject HTML', () => {
    const markdown = renderMarkdown(report);
    expect(markdown).not.toContain('<script>');
    expect(markdown).toContain('&lt;script&gt;alert(1)&lt;/script&gt;\\|\\`x\\`');
    expect(markdown).toContain('## Findings');
    expect(markdown).toContain('| Workload::"spiffe://cluster.local/ns/shop/sa/frontend" | orders.shop | GET, HEAD, OPTIONS: only for path == "/api/orders"; path like "/api/orders/\\*" | frontend-reads-orders |');
  });
});
