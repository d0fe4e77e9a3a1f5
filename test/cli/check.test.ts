import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { toProto3Json } from '../../src/wire/proto-json.js';
import { CheckRequestType, decodeCheckRequest } from '../../src/wire/protos.js';
import { examplePolicyDir, gatehouse, removeScratch, scratchDir, vectorDir, type Run } from './cli.js';

interface Vector {
  readonly file: string;
  readonly message: Record<string, unknown>;
}

const index = JSON.parse(readFileSync(join(vectorDir, 'index.json'), 'utf8')) as { requests: Record<string, Vector> };

const frontend = 'spiffe://cluster.local/ns/shop/sa/frontend';

/** What each Envoy request vector gets from the shipped policies with no config. */
const expected: Record<string, { code: number; decision: string; principal: string; action: string; resource: string; policies: string }> = {
  'mtls-get': { code: 0, decision: 'ALLOW', principal: `Workload::"${frontend}"`, action: 'Action::"GET"', resource: 'Service::"orders.shop"', policies: 'frontend-reads-orders' },
  // Envoy's raw header_map carries x-tenant twice (acme, globex), and orders-writes-need-tenant
  // reads x-tenant: the backend may see either, so the request is refused before Cedar.
  'header-map-raw': {
    code: 1,
    decision: 'DENY  403 ambiguous_parameter: header "x-tenant" is sent more than once with different values',
    principal: `Workload::"${frontend}"`,
    action: 'Action::"DELETE"',
    resource: 'Service::"orders.shop"',
    policies: 'none (refused',
  },
  'bearer-post-body': {
    code: 1,
    decision: 'DENY  401 unknown_issuer: no token issuer is configured',
    principal: '(none: the token was refused: unknown_issuer: no token issuer is configured)',
    action: 'Action::"POST"',
    resource: 'Service::"orders.shop"',
    policies: 'none (refused before policy evaluation)',
  },
  'peer-certificate': { code: 0, decision: 'ALLOW', principal: `Workload::"${frontend}"`, action: 'Action::"GET"', resource: 'Service::"orders.shop"', policies: 'frontend-reads-orders' },
  xfcc: {
    code: 1,
    decision: 'DENY  401 policy_denied: denied by a forbid policy',
    principal: 'Anonymous::"anonymous"',
    action: 'Action::"GET"',
    resource: 'Service::"orders.shop"',
    policies: 'anonymous-only-health',
  },
  'grpc-call-with-metadata': {
    code: 1,
    decision: 'DENY  403 policy_denied: denied by a forbid policy',
    principal: 'Workload::"spiffe://cluster.local/ns/billing/sa/invoicer"',
    action: 'Action::"POST"',
    resource: 'Service::"orders.shop"',
    policies: 'orders-writes-need-tenant',
  },
  empty: {
    code: 1,
    decision: 'DENY  403 bad_request: the request has no HTTP attributes',
    // A request refused by the parse step costs no identity work.
    principal: '(not identified: the request was refused before its credentials were read)',
    action: '(none: the request names no method)',
    resource: '(none: the request names no host or service)',
    policies: 'none (refused before policy evaluation)',
  },
};

/** The `name:` lines of an explanation, by name (the first of each). */
function fields(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const match = /^([a-z]+):\s+(.*)$/.exec(line);
    if (match && out[match[1]!] === undefined) out[match[1]!] = match[2]!;
  }
  return out;
}

/** The JSON printed after the "Cedar request" heading. */
function cedarRequest(stdout: string): { principal: { type: string; id: string }; action: { id: string }; resource: { id: string }; context: Record<string, unknown> } {
  const at = stdout.indexOf('\n{', stdout.indexOf('Cedar request (from buildCedarRequest'));
  return JSON.parse(stdout.slice(at + 1));
}

const check = (args: string[], input?: string): Promise<Run> => gatehouse(['check', '--policies', examplePolicyDir, ...args], { input });

afterAll(removeScratch);

describe('gatehouse check on every Envoy request vector', () => {
  test('every vector has an expectation', () => {
    expect(Object.keys(index.requests).sort()).toEqual(Object.keys(expected).sort());
  });

  test.each(Object.entries(index.requests))('%s (.proto field names, base64 bytes)', async (name, vector) => {
    const want = expected[name]!;
    const dir = await scratchDir({ [`${name}.json`]: JSON.stringify(vector.message) });
    const run = await check(['--request', join(dir, `${name}.json`)]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(want.code);
    const shown = fields(run.stdout);
    expect(shown).toMatchObject({ decision: want.decision, principal: expect.stringContaining(want.principal), action: want.action, resource: expect.stringContaining(want.resource) });
    expect(shown.policies?.startsWith(want.policies)).toBe(true);
    if (want.policies.startsWith('none (refused')) {
      expect(run.stdout).toContain('Cedar was not consulted: the request was refused before policy evaluation.\n');
    } else {
      const request = cedarRequest(run.stdout);
      expect(`${request.principal.type}::${JSON.stringify(request.principal.id)}`).toBe(want.principal);
      expect(`Action::${JSON.stringify(request.action.id)}`).toBe(want.action);
      expect(`Service::${JSON.stringify(request.resource.id)}`).toBe(want.resource);
      // The context line leaves out what no policy reads, and the unread line names it.
      const unread = (shown.unread ?? '').split(':')[0]!.split(', ').filter(Boolean);
      expect(JSON.stringify(Object.fromEntries(Object.entries(request.context).filter(([key]) => !unread.includes(key))))).toBe(shown.context);
    }
  });

  test('a bearer token without configured issuers is refused, and the output says why', async () => {
    const dir = await scratchDir({ 'r.json': JSON.stringify(index.requests['bearer-post-body']!.message) });
    const run = await check(['--request', join(dir, 'r.json')]);
    expect(run.stdout).toContain(
      'note: the request carries a bearer token, but no token issuer is configured (identity.jwt, give --config): check refuses every token as from an unknown issuer\n',
    );
  });

  test('the serialized .bin form decides the same', async () => {
    const run = await check(['--request', join(vectorDir, 'request-mtls-get.bin')]);
    expect(run.code).toBe(0);
    expect(fields(run.stdout)).toMatchObject({ decision: 'ALLOW', policies: `frontend-reads-orders  ${examplePolicyDir}/shop.cedar:3` });
  });

  test('lowerCamelCase proto3 JSON (as `gatehouse call --json` prints) read from stdin decides the same', async () => {
    const camel = toProto3Json(CheckRequestType, decodeCheckRequest(readFileSync(join(vectorDir, 'request-mtls-get.bin'))));
    expect(JSON.stringify(camel)).toContain('"socketAddress"');
    const run = await check(['--request', '-'], JSON.stringify(camel));
    expect(run.code).toBe(0);
    expect(fields(run.stdout)).toMatchObject({ decision: 'ALLOW', principal: `Workload::"${frontend}"  (authn mtls, class "unknown")` });
  });
});

describe('gatehouse check explains a deny', () => {
  const request = (principal: string, method: string, path: string, headers: Record<string, string> = {}, address = '10.1.2.3') =>
    JSON.stringify({
      attributes: {
        source: { address: { socketAddress: { address, portValue: 50000 } }, principal },
        request: { http: { method, path, host: 'orders.shop.svc.cluster.local:8080', headers: { ':authority': 'orders.shop.svc.cluster.local:8080', ...headers } } },
      },
    });

  test('a permit whose scope matched is a near miss that names its condition', async () => {
    const run = await check(['--request', '-'], request(frontend, 'GET', '/api/wrong'));
    expect(run.code).toBe(1);
    expect(fields(run.stdout)).toMatchObject({ decision: 'DENY  403 policy_denied: no policy permits the request', policies: 'none (no permit applied: default deny)' });
    expect(run.stdout).toContain(
      [
        'near misses: permits whose principal, action and resource matched, stopped by a condition',
        `  frontend-reads-orders  ${examplePolicyDir}/shop.cedar:3`,
        `    ✗ ${examplePolicyDir}/shop.cedar:9  when { context.path == "/api/orders" || context.path like "/api/orders/*" }`,
        '        is false',
        '',
      ].join('\n'),
    );
  });

  test('a condition made of several parts names the part that failed', async () => {
    const reconciler = 'spiffe://cluster.local/ns/ops/sa/reconciler';
    const run = await check(['--request', '-'], request(reconciler, 'PUT', '/admin/settings', { 'x-tenant': 'acme' }));
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      [
        `  reconciler-writes-admin  ${examplePolicyDir}/ops-reconciler.cedar:11`,
        `    ✗ ${examplePolicyDir}/ops-reconciler.cedar:17  when { principal.class == "automation" && context.path like "/admin/*" }`,
        '        is false: principal.class == "automation" is false',
        '',
      ].join('\n'),
    );

    const dir = await scratchDir({ 'config.yaml': 'identity:\n  classes: [{ class: automation, namespace: ops }]\n' });
    const classified = await check(['--config', join(dir, 'config.yaml'), '--request', '-'], request(reconciler, 'PUT', '/admin/settings', { 'x-tenant': 'acme' }));
    expect(classified.code).toBe(0);
    expect(fields(classified.stdout)).toMatchObject({ decision: 'ALLOW', principal: `Workload::"${reconciler}"  (authn mtls, class "automation")` });
  });

  test('a permit that applied but lost to a forbid is shown as overridden', async () => {
    const run = await check(['--request', '-'], request('spiffe://cluster.local/ns/shop/sa/checkout', 'POST', '/api/orders'));
    expect(run.code).toBe(1);
    expect(fields(run.stdout).policies).toBe(`orders-writes-need-tenant  ${examplePolicyDir}/shop.cedar:45`);
    expect(run.stdout).toContain(`overridden: permits that applied, but a forbid wins\n  checkout-writes-orders  ${examplePolicyDir}/shop.cedar:19\n`);
  });

  test('no permit in scope says so', async () => {
    const run = await check(['--request', '-'], request('spiffe://cluster.local/ns/shop/sa/orders', 'GET', '/api/orders'));
    expect(run.stdout).toContain("near misses: none (no permit's principal, action and resource match this request)\n");
  });

  test('a namespace in dry-run is a deny that Envoy is told to allow', async () => {
    const dir = await scratchDir({ 'config.yaml': 'dryRunNamespaces: [shop]\n' });
    // The route names the service: dry-run never follows the caller's Host header.
    const routed = JSON.parse(request(frontend, 'GET', '/api/wrong')) as { attributes: Record<string, unknown> };
    routed.attributes.contextExtensions = { service: 'orders.shop' };
    const run = await check(['--config', join(dir, 'config.yaml'), '--request', '-'], JSON.stringify(routed));
    expect(run.code).toBe(1);
    expect(fields(run.stdout).decision).toBe('DENY  403 policy_denied: no policy permits the request  (dry-run: Envoy is answered allow; logged as a deny)');
  });
});

describe('gatehouse check explains scope misses', () => {
  const schema = readFileSync(join(examplePolicyDir, 'schema.cedarschema'), 'utf8');
  const api = 'spiffe://cluster.local/ns/shop/sa/api';
  const policy = `@id("api-posts-orders")\npermit (principal == Workload::"${api}", action == Action::"POST", resource == Service::"orders.shop");\n`;
  const request = (principal: string, method: string, host: string) =>
    JSON.stringify({ attributes: { source: { principal }, request: { http: { method, path: '/api/orders', host, headers: { ':authority': host } } } } });

  // Regression: a permit off by one scope part (the commonest authoring mistake) was reported only
  // as "no permit's principal, action and resource match".
  test.each([
    ['the action', api, 'GET', 'orders.shop', ['  api-posts-orders  {dir}/a.cedar:1', '    ✗ action is GET; the permit allows POST']],
    ['the principal', `${api}i`, 'POST', 'orders.shop', ['  api-posts-orders  {dir}/a.cedar:1', `    ✗ principal differs: the permit names Workload::"${api}"; the request's is Workload::"${api}i"`]],
    ['the resource', api, 'POST', 'orderz.shop', ['  api-posts-orders  {dir}/a.cedar:1', '    ✗ resource differs: the permit names Service::"orders.shop"; the request\'s is Service::"orderz.shop"']],
    ['two parts (not a near permit)', `${api}i`, 'GET', 'orders.shop', []],
  ])('a permit that differs only in %s', async (_name, principal, method, host, lines) => {
    const dir = await scratchDir({ 'schema.cedarschema': schema, 'a.cedar': policy });
    const run = await gatehouse(['check', '--brief', '--policies', dir, '--request', '-'], { input: request(principal, method, host) });
    expect(run.code).toBe(1);
    const section = run.stdout.slice(run.stdout.indexOf('scope misses:'));
    const heading = lines.length > 0
      ? 'scope misses: permits that differ from this request in only their principal, action or resource (nearest first)'
      : 'scope misses: none (no permit differs from this request in only its principal, action or resource)';
    expect(section).toBe([heading, ...lines.map((line) => line.replace('{dir}', dir)), ''].join('\n'));
  });

  test('--brief leaves out the Cedar request; without it the request is printed', async () => {
    const input = request(frontend, 'DELETE', 'orders.shop');
    const brief = await check(['--brief', '--request', '-'], input);
    expect(brief.code).toBe(1);
    expect(brief.stdout).not.toContain('Cedar request (from buildCedarRequest');
    expect(brief.stdout).not.toContain('"entities"');
    const full = await check(['--request', '-'], input);
    expect(full.stdout.startsWith(brief.stdout.trimEnd())).toBe(true);
    expect(full.stdout).toContain('Cedar request (from buildCedarRequest');
  });

  // Regression: attributes blanked because no policy reads them were shown as "", as if the
  // request had no method or host.
  test('context attributes no policy reads are named as such, not shown blank', async () => {
    const run = await check(['--brief', '--request', '-'], request(frontend, 'GET', 'orders.shop'));
    const shown = fields(run.stdout);
    expect(shown.unread).toBe('method, host, scheme, authn: not read by any policy (blank in the Cedar request)');
    expect(shown.context).not.toMatch(/"(method|host|scheme)":""/);
    expect(JSON.parse(shown.context!)).toMatchObject({ path: '/api/orders' });
  });
});

describe('gatehouse check input errors exit 2', () => {
  test.each([
    ['not JSON', '{', /^gatehouse check: --request stdin: not JSON: /],
    ['an unknown field', '{"attributes":{"sauce":{}}}', /^gatehouse check: --request stdin: CheckRequest\.attributes: unknown field "sauce"\n$/],
    ['not an object', '[]', /^gatehouse check: --request stdin: CheckRequest: expected a JSON object\n$/],
  ])('%s', async (_name, input, message) => {
    const run = await check(['--request', '-'], input);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
  });

  test('a missing file', async () => {
    const run = await check(['--request', '/nonexistent/request.json']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^gatehouse check: --request \/nonexistent\/request\.json: ENOENT/);
  });

  test('no --request', async () => {
    const run = await check([]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^gatehouse check: --request FILE is required/);
  });
});
