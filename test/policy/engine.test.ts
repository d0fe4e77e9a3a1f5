import { knownActions } from '../../src/policy/entities.js';
import { formatPolicyText } from '../../src/policy/cedar/format.js';
import { PolicyEngine } from '../../src/policy/cedar/engine.js';
import { loadPolicies } from '../../src/policy/loader.js';
import { formatProblem } from '../../src/policy/problem.js';
import { policySetVersion } from '../../src/policy/version.js';
import { anonymous, cedarRequest, examplePolicyDir, exampleSchema, user, workload, type RequestShape } from './policy-fixtures.js';

const frontend = workload('spiffe://cluster.local/ns/shop/sa/frontend');
const checkout = workload('spiffe://cluster.local/ns/shop/sa/checkout');
const orders = workload('spiffe://cluster.local/ns/shop/sa/orders');
const builder = workload('spiffe://cluster.local/ns/ci/sa/builder', 'build');
const reconciler = workload('spiffe://cluster.local/ns/ops/sa/reconciler', 'automation');
const prometheus = workload('spiffe://cluster.local/ns/monitoring/sa/prometheus');
const alice = user('alice', ['sre']);
const bob = user('bob', ['developers']);

async function exampleEngine(): Promise<PolicyEngine> {
  const loaded = await loadPolicies(examplePolicyDir);
  if (!loaded.ok) throw new Error(loaded.problems.map(formatProblem).join('\n'));
  return loaded.engine;
}

function prepare(files: Record<string, string>, schemaText = exampleSchema) {
  return PolicyEngine.prepare({
    files: Object.entries(files).map(([name, text]) => ({ name, text })),
    schemaText,
    schemaFile: 'schema.cedarschema',
  });
}

function engineOf(files: Record<string, string>): PolicyEngine {
  const prepared = prepare(files);
  if (!prepared.ok) throw new Error(prepared.problems.map(formatProblem).join('\n'));
  return prepared.engine;
}

describe('the example policies', () => {
  let engine: PolicyEngine;
  beforeAll(async () => {
    engine = await exampleEngine();
  });

  test('load without warnings, every policy named by @id, in file order', () => {
    expect(engine.warnings).toEqual([]);
    expect(engine.policies.map((p) => [p.id, p.effect])).toEqual([
      ['ci-builder-pulls-artifacts', 'permit'],
      ['no-build-jobs-in-shop', 'forbid'],
      ['build-jobs-never-act-in-shop', 'forbid'],
      ['assistant-reads-tickets-for-staff', 'permit'],
      ['automation-acts-only-for-on-call', 'forbid'],
      ['reconciler-writes-admin-for-on-call', 'permit'],
      ['frontend-orders-for-customers', 'permit'],
      ['through-frontend-only-to-orders', 'forbid'],
      ['monitoring-scrapes-metrics', 'permit'],
      ['reconciler-reads-admin', 'permit'],
      ['reconciler-writes-admin', 'permit'],
      ['reconciler-from-pod-network-only', 'forbid'],
      ['anonymous-reads-health', 'permit'],
      ['anonymous-only-health', 'forbid'],
      ['frontend-reads-orders', 'permit'],
      ['frontend-reads-catalog', 'permit'],
      ['checkout-writes-orders', 'permit'],
      ['checkout-charges-payments', 'permit'],
      ['orders-reads-payments', 'permit'],
      ['orders-writes-need-tenant', 'forbid'],
      ['sre-reads-admin', 'permit'],
    ]);
    const first = engine.policies[0];
    expect(first?.file).toBe(`${examplePolicyDir}ci.cedar`);
    expect(first?.line).toBe(3);
    expect(first?.text.startsWith('@id("ci-builder-pulls-artifacts")\npermit (')).toBe(true);
    expect(engine.schemaText).toBe(exampleSchema);
    expect(engine.version).toMatch(/^[0-9a-f]{12}$/);
  });

  const tenant = { 'x-tenant': 'acme' };
  const table: { name: string; who: Parameters<typeof cedarRequest>[0]; req: RequestShape; decision: 'allow' | 'deny'; determining: string[] }[] = [
    // the shop's services
    { name: 'frontend GETs an order', who: frontend, req: { method: 'GET', service: 'orders.shop', path: '/api/orders/42' }, decision: 'allow', determining: ['frontend-reads-orders'] },
    { name: 'frontend HEAD is a read', who: frontend, req: { method: 'HEAD', service: 'orders.shop', path: '/api/orders' }, decision: 'allow', determining: ['frontend-reads-orders'] },
    { name: 'frontend OPTIONS is a read', who: frontend, req: { method: 'OPTIONS', service: 'orders.shop', path: '/api/orders' }, decision: 'allow', determining: ['frontend-reads-orders'] },
    { name: 'frontend may not write orders (no permit)', who: frontend, req: { method: 'POST', service: 'orders.shop', path: '/api/orders', headers: tenant }, decision: 'deny', determining: [] },
    { name: 'frontend reads orders only under /api/orders', who: frontend, req: { method: 'GET', service: 'orders.shop', path: '/admin/config' }, decision: 'deny', determining: [] },
    { name: 'frontend may not read payments', who: frontend, req: { method: 'GET', service: 'payments.shop', path: '/api/payments/1' }, decision: 'deny', determining: [] },
    { name: 'CONNECT is in neither group', who: frontend, req: { method: 'CONNECT', service: 'orders.shop', path: '/api/orders' }, decision: 'deny', determining: [] },
    { name: 'TRACE is in neither group', who: frontend, req: { method: 'TRACE', service: 'orders.shop', path: '/api/orders' }, decision: 'deny', determining: [] },
    ...['POST', 'PUT', 'PATCH', 'DELETE'].map((method) => ({
      name: `checkout ${method} is a write`,
      who: checkout,
      req: { method, service: 'orders.shop', path: '/api/orders/42', headers: tenant },
      decision: 'allow' as const,
      determining: ['checkout-writes-orders'],
    })),
    { name: 'checkout write without tenant: forbid beats permit', who: checkout, req: { method: 'POST', service: 'orders.shop', path: '/api/orders' }, decision: 'deny', determining: ['orders-writes-need-tenant'] },
    { name: 'checkout may not read orders', who: checkout, req: { method: 'GET', service: 'orders.shop', path: '/api/orders' }, decision: 'deny', determining: [] },
    { name: 'checkout charges payments', who: checkout, req: { method: 'POST', service: 'payments.shop', path: '/api/charges' }, decision: 'allow', determining: ['checkout-charges-payments'] },
    { name: 'orders reads payments', who: orders, req: { method: 'GET', service: 'payments.shop', path: '/api/payments/7' }, decision: 'allow', determining: ['orders-reads-payments'] },
    // CI
    { name: 'builder pulls an artifact', who: builder, req: { method: 'GET', service: 'artifacts.registry', path: '/v2/app/manifests/1.0' }, decision: 'allow', determining: ['ci-builder-pulls-artifacts'] },
    { name: 'builder may not push', who: builder, req: { method: 'PUT', service: 'artifacts.registry', path: '/v2/app/manifests/1.0' }, decision: 'deny', determining: [] },
    { name: 'builder reads only /v2/*', who: builder, req: { method: 'GET', service: 'artifacts.registry', path: '/admin' }, decision: 'deny', determining: [] },
    { name: 'builder in shop: forbidden', who: builder, req: { method: 'GET', service: 'orders.shop', path: '/api/orders' }, decision: 'deny', determining: ['no-build-jobs-in-shop'] },
    {
      name: 'a build job with the frontend identity: forbid beats permit',
      who: workload('spiffe://cluster.local/ns/shop/sa/frontend', 'build'),
      req: { method: 'GET', service: 'orders.shop', path: '/api/orders' },
      decision: 'deny',
      determining: ['no-build-jobs-in-shop'],
    },
    // ops automation
    { name: 'reconciler POSTs admin', who: reconciler, req: { method: 'POST', service: 'orders.shop', path: '/admin/config', headers: tenant }, decision: 'allow', determining: ['reconciler-writes-admin'] },
    { name: 'reconciler PUTs admin', who: reconciler, req: { method: 'PUT', service: 'payments.shop', path: '/admin/limits' }, decision: 'allow', determining: ['reconciler-writes-admin'] },
    { name: 'reconciler reads admin', who: reconciler, req: { method: 'GET', service: 'payments.shop', path: '/admin/limits' }, decision: 'allow', determining: ['reconciler-reads-admin'] },
    { name: 'reconciler may not DELETE', who: reconciler, req: { method: 'DELETE', service: 'payments.shop', path: '/admin/limits' }, decision: 'deny', determining: [] },
    { name: 'reconciler only in shop', who: reconciler, req: { method: 'POST', service: 'billing.finance', path: '/admin/limits' }, decision: 'deny', determining: [] },
    {
      name: 'reconciler from outside the pod network: forbid beats permit',
      who: reconciler,
      req: { method: 'POST', service: 'payments.shop', path: '/admin/limits', sourceIp: '192.168.1.10' },
      decision: 'deny',
      determining: ['reconciler-from-pod-network-only'],
    },
    { name: 'reconciler from an unknown address', who: reconciler, req: { method: 'GET', service: 'payments.shop', path: '/admin/limits', sourceIp: '' }, decision: 'deny', determining: ['reconciler-from-pod-network-only'] },
    {
      name: 'the reconciler SPIFFE ID without class automation may not write',
      who: workload('spiffe://cluster.local/ns/ops/sa/reconciler'),
      req: { method: 'POST', service: 'payments.shop', path: '/admin/limits' },
      decision: 'deny',
      determining: [],
    },
    // anonymous
    { name: 'anonymous GET /healthz', who: anonymous, req: { method: 'GET', service: 'orders.shop', path: '/healthz' }, decision: 'allow', determining: ['anonymous-reads-health'] },
    { name: 'anonymous GET /readyz anywhere', who: anonymous, req: { method: 'GET', service: 'artifacts.registry', path: '/readyz' }, decision: 'allow', determining: ['anonymous-reads-health'] },
    { name: 'anonymous HEAD /healthz', who: anonymous, req: { method: 'HEAD', service: 'orders.shop', path: '/healthz' }, decision: 'deny', determining: ['anonymous-only-health'] },
    { name: 'anonymous GET elsewhere', who: anonymous, req: { method: 'GET', service: 'orders.shop', path: '/api/orders' }, decision: 'deny', determining: ['anonymous-only-health'] },
    // people
    { name: 'SRE reads admin anywhere', who: alice, req: { method: 'GET', service: 'artifacts.registry', path: '/admin/gc' }, decision: 'allow', determining: ['sre-reads-admin'] },
    { name: 'SRE may not write admin', who: alice, req: { method: 'POST', service: 'orders.shop', path: '/admin/config', headers: tenant }, decision: 'deny', determining: [] },
    { name: 'a user outside sre', who: bob, req: { method: 'GET', service: 'orders.shop', path: '/admin/config' }, decision: 'deny', determining: [] },
    // monitoring
    { name: 'prometheus scrapes metrics anywhere', who: prometheus, req: { method: 'GET', service: 'payments.shop', path: '/metrics' }, decision: 'allow', determining: ['monitoring-scrapes-metrics'] },
    { name: 'a shop workload may not scrape', who: orders, req: { method: 'GET', service: 'payments.shop', path: '/metrics' }, decision: 'deny', determining: [] },
  ];

  test.each(table)('$name → $decision $determining', ({ who, req, decision, determining }) => {
    expect(engine.authorize(cedarRequest(who, req))).toEqual({ decision, determining, errors: [] });
  });

  test.each([...knownActions])('the schema accepts action %s for every kind of principal', (method) => {
    for (const who of [frontend, alice, anonymous]) {
      expect(engine.authorize(cedarRequest(who, { method, service: 'orders.shop', path: '/' })).errors).toEqual([]);
    }
  });

  test('a method the schema does not know is a deny with the error recorded, not a throw', () => {
    const result = engine.authorize(cedarRequest(frontend, { method: 'PROPFIND', service: 'orders.shop', path: '/api/orders' }));
    expect(result.decision).toBe('deny');
    expect(result.determining).toEqual([]);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]?.policy).toBe('');
    expect(result.errors[0]?.message).toMatch(/PROPFIND/);
  });

  test('an entity that does not fit the schema is a deny with the error recorded', () => {
    const req = cedarRequest(frontend, { method: 'GET', service: 'orders.shop', path: '/api/orders' });
    const principal = req.entities[0];
    if (principal === undefined) throw new Error('no principal entity');
    principal.attrs.class = 7;
    const result = engine.authorize(req);
    expect(result).toEqual({ decision: 'deny', determining: [], errors: [{ policy: '', message: expect.stringMatching(/does not conform/) }] });
  });
});

describe('evaluation errors fail closed', () => {
  // Multiplying a Long can overflow, which strict validation cannot rule out.
  const overflow = 'context.source has port && context.source.port * 9223372036854775807 > 0';
  const permitAll = '@id("permit-all") permit (principal, action, resource);';
  const req = cedarRequest(frontend, { method: 'GET', service: 'orders.shop', path: '/' });

  test('a forbid that errors denies, though Cedar alone would allow', () => {
    const engine = engineOf({ 'a.cedar': `${permitAll}\n@id("overflowing-forbid") forbid (principal, action, resource) when { ${overflow} };` });
    const result = engine.authorize(req);
    expect(result.decision).toBe('deny');
    expect(result.determining).toEqual(['overflowing-forbid']);
    expect(result.errors).toEqual([{ policy: 'overflowing-forbid', message: expect.stringMatching(/overflow/) }]);
  });

  test('a forbid that errors is reported beside forbids that matched', () => {
    const engine = engineOf({
      'a.cedar': `${permitAll}\n@id("overflowing-forbid") forbid (principal, action, resource) when { ${overflow} };\n@id("forbid-all") forbid (principal, action, resource);`,
    });
    expect(engine.authorize(req)).toEqual({
      decision: 'deny',
      determining: ['overflowing-forbid', 'forbid-all'],
      errors: [{ policy: 'overflowing-forbid', message: expect.any(String) }],
    });
  });

  test('a permit that errors does not apply, and another permit still allows', () => {
    const erroring = `@id("overflowing-permit") permit (principal, action, resource) when { ${overflow} };`;
    expect(engineOf({ 'a.cedar': erroring }).authorize(req)).toEqual({
      decision: 'deny',
      determining: [],
      errors: [{ policy: 'overflowing-permit', message: expect.any(String) }],
    });
    expect(engineOf({ 'a.cedar': `${erroring}\n${permitAll}` }).authorize(req)).toEqual({
      decision: 'allow',
      determining: ['permit-all'],
      errors: [{ policy: 'overflowing-permit', message: expect.any(String) }],
    });
  });
});

describe('preparing a policy set', () => {
  test('policies without @id are FILE#N, counted from 0 within their file', () => {
    const engine = engineOf({
      'dir/one.cedar': 'permit (principal, action, resource);\n@id("named") forbid (principal, action, resource);\npermit (principal, action, resource);',
      'dir/two.cedar': 'permit (principal, action, resource);',
    });
    expect(engine.policies.map((p) => [p.id, p.file, p.line])).toEqual([
      ['one.cedar#0', 'dir/one.cedar', 1],
      ['named', 'dir/one.cedar', 2],
      ['one.cedar#2', 'dir/one.cedar', 3],
      ['two.cedar#0', 'dir/two.cedar', 1],
    ]);
  });

  test('zero policies is a valid set that denies everything', () => {
    const engine = engineOf({ 'empty.cedar': '// nothing yet\n' });
    expect(engine.policies).toEqual([]);
    expect(engine.authorize(cedarRequest(anonymous, { method: 'GET', service: 'orders.shop', path: '/healthz' }))).toEqual({ decision: 'deny', determining: [], errors: [] });
  });

  test.each<{ name: string; files: Record<string, string>; problems: string[] }>([
    {
      name: 'a syntax error',
      files: { 'bad.cedar': '@id("ok")\npermit (principal, action, resource);\n\n@id("broken")\npermit (principal, action, resourc);\n' },
      problems: [
        'bad.cedar:5:28: failed to parse policy from string: found an invalid variable in the policy scope: resourc (policy scopes must contain a `principal`, `action`, and `resource` element in that order)',
      ],
    },
    {
      name: 'a syntax error after non-ASCII text: columns count characters, not bytes',
      files: { 'bad.cedar': '// café ✓\n@id("x") permit (principal, action, resource) when { context.path ~ "/" };' },
      problems: ['bad.cedar:2:67: failed to parse policy from string: invalid token'],
    },
    {
      name: 'a missing semicolon at the end of the file',
      files: { 'bad.cedar': '@id("x")\npermit (principal, action, resource)\n' },
      problems: ['bad.cedar:2:37: failed to parse policy from string: unexpected end of input'],
    },
    {
      name: 'a schema violation',
      files: { 'ok.cedar': 'permit (principal, action, resource);', 'typo.cedar': '// one\n@id("typo")\npermit (principal is Workload, action, resource)\nwhen { principal.clas == "build" };\n' },
      problems: ['typo.cedar:4:8: for policy `typo`, attribute `clas` on entity type `Workload` not found (did you mean `class`?)'],
    },
    {
      name: 'an unguarded tag read',
      files: { 'tags.cedar': '@id("tenant")\npermit (principal, action, resource) when { context.headers.getTag("x-tenant") == "acme" };' },
      problems: [
        'tags.cedar:2:45: for policy `tenant`, unable to guarantee safety of access to tag `"x-tenant"` on entity type `Headers` (try testing for the tag\'s presence with `.hasTag("x-tenant") && ..`)',
      ],
    },
    {
      name: 'a duplicate @id, across files',
      files: { 'a.cedar': '@id("same") permit (principal, action, resource);', 'b.cedar': '\n\n  @id("same") forbid (principal, action, resource);' },
      problems: ['b.cedar:3:3: duplicate policy id "same", first used at a.cedar:1:1'],
    },
    {
      name: 'an empty @id',
      files: { 'a.cedar': '@id("") permit (principal, action, resource);' },
      problems: ['a.cedar:1:1: the @id annotation is empty'],
    },
    {
      name: 'a template, which a policy file may not hold',
      files: { 'a.cedar': 'permit (principal == ?principal, action, resource);' },
      problems: ['a.cedar:1:22: failed to parse policy from string: expected a static policy, got a template containing the slot ?principal (try removing the template slot(s) from this policy)'],
    },
  ])('$name is reported at FILE:LINE:COL', ({ files, problems }) => {
    const prepared = prepare(files);
    expect(prepared.ok).toBe(false);
    if (!prepared.ok) expect(prepared.problems.map(formatProblem)).toEqual(problems);
  });

  test('every problem of every file is reported at once', () => {
    const prepared = prepare({
      'a.cedar': 'permit (principal, action, resourc);\npermit (principal is User, action, resource) when { principal.nope };',
      'b.cedar': 'forbid (principal, action, resource) when { 1 };',
    });
    expect(prepared.ok).toBe(false);
    if (!prepared.ok) expect(prepared.problems.map((p) => `${p.file}:${p.line}`)).toEqual(['a.cedar:1', 'a.cedar:2', 'b.cedar:1']);
  });

  test('a broken schema is reported in the schema file', () => {
    const prepared = prepare({ 'a.cedar': 'permit (principal, action, resource);' }, 'entity Workload;\nentity Service { name: Strng };\n');
    expect(prepared.ok).toBe(false);
    if (!prepared.ok) {
      expect(prepared.problems.map(formatProblem)).toEqual(['schema.cedarschema:2:24: failed to resolve type: Strng (`Strng` has not been declared as a common or entity type)']);
    }
  });

  test('the reads the schema documents validate strictly', () => {
    const prepared = prepare({
      'documented.cedar': `
        @id("namespace-label") permit (principal, action, resource in Namespace::"shop")
        when { Namespace::"shop".hasTag("team") && Namespace::"shop".getTag("team") == "checkout" };
        @id("header") permit (principal, action, resource)
        when { context.headers.hasTag("x-tenant") && context.headers.getTag("x-tenant") == "acme" };
        @id("query") permit (principal, action in Action::"write", resource)
        when { context.query.hasTag("dryRun") && context.query.getTag("dryRun") == "true" };
        @id("source") permit (principal is Workload, action, resource)
        when { context.source has ip && context.source.ip.isInRange(ip("10.0.0.0/8")) && context.authn.method == "mtls" };
        @id("issuer") permit (principal is User, action, resource)
        when { context.authn has issuer && context.authn.issuer == principal.issuer };
        @id("workload-attrs") permit (principal is Workload in Namespace::"shop", action, resource is Service)
        when { principal has serviceAccount && principal.serviceAccount == "frontend" && principal has namespace && resource has namespace && resource.namespace == principal.namespace };`,
    });
    expect(prepared.ok ? prepared.engine.warnings : prepared.problems).toEqual([]);
  });

  test('warnings are reported but do not stop the set from loading', () => {
    const prepared = prepare({ 'a.cedar': '@id("never") permit (principal, action == Action::"read", resource);' });
    expect(prepared.ok).toBe(true);
    if (prepared.ok) {
      expect(prepared.engine.warnings.map(formatProblem)).toEqual([
        'a.cedar:1:1: warning: for policy `never`, unable to find an applicable action given the policy scope constraints',
        'a.cedar:1:1: warning: for policy `never`, policy is impossible: the policy expression evaluates to false for all valid requests',
      ]);
    }
  });
});

describe('versions', () => {
  const input = (dir: string, text: string) => ({ files: [{ name: `${dir}/a.cedar`, text }], schemaText: exampleSchema, schemaFile: `${dir}/schema.cedarschema` });

  test('depend on the texts, not on where the directory is or the order files are listed', () => {
    const text = 'permit (principal, action, resource);';
    expect(policySetVersion(input('/x', text))).toBe(policySetVersion(input('/y', text)));
    expect(policySetVersion(input('/x', text))).not.toBe(policySetVersion(input('/x', `${text}\n`)));
    const two = [
      { name: 'a.cedar', text: '' },
      { name: 'b.cedar', text: text },
    ];
    expect(policySetVersion({ files: two, schemaText: '', schemaFile: 's' })).toBe(policySetVersion({ files: [...two].reverse(), schemaText: '', schemaFile: 's' }));
  });

  test('an engine older than every preparsed slot still evaluates its own policies', () => {
    const permitting = engineOf({ 'a.cedar': '@id("old-permit") permit (principal, action, resource);' });
    for (let i = 0; i < 20; i++) engineOf({ 'a.cedar': `@id("newer-${i}") forbid (principal, action, resource);` });
    expect(permitting.authorize(cedarRequest(frontend, { method: 'GET', service: 'orders.shop', path: '/' }))).toEqual({ decision: 'allow', determining: ['old-permit'], errors: [] });
  });
});

describe('formatPolicyText', () => {
  test('lays out policies and keeps comments', () => {
    expect(formatPolicyText('// why\npermit(principal,action,resource) when {context.path like "/a*"};')).toEqual({
      ok: true,
      text: '// why\npermit (principal, action, resource)\nwhen { context.path like "/a*" };\n',
    });
  });

  test('reports where the text does not parse', () => {
    expect(formatPolicyText('permit (principal, action, resource)\nwhen { x ~ };')).toEqual({ ok: false, message: '2:10: cannot parse input policies: invalid token' });
  });
});
