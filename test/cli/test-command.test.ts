import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { examplePolicyDir, gatehouse, lastLine, removeScratch, scratchDir } from './cli.js';

const schema = readFileSync(join(examplePolicyDir, 'schema.cedarschema'), 'utf8');
const shippedTests = readdirSync(join(examplePolicyDir, 'tests'))
  .filter((name) => name.endsWith('.yaml'))
  .sort()
  .map((name) => join(examplePolicyDir, 'tests', name));

const twoPolicies = [
  '@id("frontend-reads-orders")',
  'permit (',
  '  principal == Workload::"spiffe://cluster.local/ns/shop/sa/frontend",',
  '  action in Action::"read",',
  '  resource == Service::"orders.shop"',
  ')',
  'when { context.path like "/api/orders*" };',
  '',
  '@id("no-build-jobs")',
  'forbid (principal is Workload, action, resource)',
  'when { principal.class == "build" };',
  '',
].join('\n');

const frontendCase = (name: string, extra: string) =>
  `  - name: ${name}\n    serviceAccount: shop/frontend\n    method: GET\n    service: orders.shop\n${extra}`;

afterAll(removeScratch);

describe('gatehouse test on the shipped policies', () => {
  test('every case passes and every policy determines at least one case', async () => {
    expect(shippedTests.length).toBeGreaterThan(0);
    const run = await gatehouse(['test', '--policies', examplePolicyDir, '--coverage', ...shippedTests]);
    expect(run.stderr).toBe('');
    expect(run.stdout).not.toContain('✗');
    expect(run.stdout).toContain('coverage: 21 of 21 policies determined at least one case\n');
    expect(lastLine(run.stdout)).toMatch(/^\d+ passed, 0 failed$/);
    expect(run.code).toBe(0);
  });

  test('each file has both allowed and denied cases', () => {
    for (const file of shippedTests) {
      const text = readFileSync(file, 'utf8');
      expect({ file, allow: text.includes('expect: allow') }).toEqual({ file, allow: true });
      expect({ file, deny: text.includes('expect: deny') }).toEqual({ file, deny: true });
    }
  });
});

describe('gatehouse test', () => {
  test('a failing case shows the expected and actual decision and policies, and the summary is the last line', async () => {
    const dir = await scratchDir({
      'policies/schema.cedarschema': schema,
      'policies/shop.cedar': twoPolicies,
      'tests/shop.yaml': [
        'cases:',
        frontendCase('frontend reads an order', '    path: /api/orders/42\n    expect: allow\n    policies: [frontend-reads-orders]'),
        frontendCase('frontend reads the admin page', '    path: /admin\n    expect: allow\n    policies: [frontend-reads-orders]'),
        '',
      ].join('\n'),
    });
    const run = await gatehouse(['test', '--policies', join(dir, 'policies'), join(dir, 'tests/shop.yaml')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe(
      [
        `${dir}/tests/shop.yaml`,
        '  ✓ frontend reads an order',
        `  ✗ frontend reads the admin page  (${dir}/tests/shop.yaml:9:5)`,
        '      - expected: allow  policies: [frontend-reads-orders]',
        '      + actual:   deny   policies: []  (policy_denied: no policy permits the request)',
        '',
        '1 passed, 1 failed',
        '',
      ].join('\n'),
    );
  });

  test('the determining policies are compared as an exact set', async () => {
    const dir = await scratchDir({
      'policies/schema.cedarschema': schema,
      'policies/shop.cedar': twoPolicies,
      'tests/t.yaml': ['cases:', frontendCase('a build frontend is refused', '    path: /api/orders/1\n    class: build\n    expect: deny\n    policies: []'), ''].join('\n'),
    });
    const run = await gatehouse(['test', '--policies', join(dir, 'policies'), join(dir, 'tests/t.yaml')]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('      + actual:   deny   policies: [no-build-jobs]  (policy_denied: denied by a forbid policy)\n');
    expect(lastLine(run.stdout)).toBe('0 passed, 1 failed');
  });

  test('--coverage lists the policies no case was decided by, with FILE:LINE, and fails', async () => {
    const dir = await scratchDir({
      'policies/schema.cedarschema': schema,
      'policies/shop.cedar': twoPolicies,
      'tests/t.yaml': ['cases:', frontendCase('frontend reads an order', '    path: /api/orders/42\n    expect: allow'), ''].join('\n'),
    });
    const args = ['test', '--policies', join(dir, 'policies'), join(dir, 'tests/t.yaml')];
    const plain = await gatehouse(args);
    expect(plain.code).toBe(0);
    expect(lastLine(plain.stdout)).toBe('1 passed, 0 failed');

    const covered = await gatehouse([...args, '--coverage']);
    expect(covered.code).toBe(1);
    expect(covered.stdout).toContain(
      ['coverage: 1 of 2 policies determined at least one case', `  not covered: no-build-jobs  ${dir}/policies/shop.cedar:9`, '', '1 passed, 0 failed', ''].join('\n'),
    );
  });

  test('a malformed test file names the file, the place and the case, runs none of it, and exits 2', async () => {
    const dir = await scratchDir({
      'policies/schema.cedarschema': schema,
      'policies/shop.cedar': twoPolicies,
      'tests/bad.yaml': [
        'cases:',
        frontendCase('fine', '    path: /api/orders/42\n    expect: allow'),
        '  - name: two callers',
        '    anonymous: true',
        '    user: { subject: alice }',
        '    service: orders.shop',
        '    expect: allow',
        frontendCase('typo in a key', '    expected: allow'),
        '',
      ].join('\n'),
      'tests/good.yaml': ['cases:', frontendCase('frontend reads an order', '    path: /api/orders/42\n    expect: allow'), ''].join('\n'),
    });
    const run = await gatehouse(['test', '--policies', join(dir, 'policies'), join(dir, 'tests/bad.yaml'), join(dir, 'tests/good.yaml')]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe(
      [
        `${dir}/tests/bad.yaml`,
        `  ! ${dir}/tests/bad.yaml:8:5: case "two callers": name exactly one caller: spiffe, serviceAccount, user or anonymous: true (found user, anonymous)`,
        `  ! ${dir}/tests/bad.yaml:13:5: case "typo in a key": expect: is required`,
        `  ! ${dir}/tests/bad.yaml:13:5: case "typo in a key": Unrecognized key: "expected"`,
        `${dir}/tests/good.yaml`,
        '  ✓ frontend reads an order',
        '',
        "1 test file was not run: fix the problems marked '!'",
        '',
        '1 passed, 0 failed',
        '',
      ].join('\n'),
    );
  });

  test('an expected policy id that names no policy is a malformed case', async () => {
    const dir = await scratchDir({
      'policies/schema.cedarschema': schema,
      'policies/shop.cedar': twoPolicies,
      'tests/t.yaml': ['cases:', frontendCase('typo in an id', '    path: /api/orders/1\n    expect: allow\n    policies: [frontend-read-orders]'), ''].join('\n'),
    });
    const run = await gatehouse(['test', '--policies', join(dir, 'policies'), join(dir, 'tests/t.yaml')]);
    expect(run.code).toBe(2);
    expect(run.stdout).toContain(`  ! ${dir}/tests/t.yaml:8:16: case "typo in an id": no policy has the id "frontend-read-orders"\n`);
  });

  test('YAML that does not parse is reported at its line', async () => {
    const dir = await scratchDir({ 'policies/schema.cedarschema': schema, 'tests/t.yaml': 'cases:\n  - name: [unclosed\n' });
    const run = await gatehouse(['test', '--policies', join(dir, 'policies'), join(dir, 'tests/t.yaml')]);
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(new RegExp(`^  ! ${dir}/tests/t\\.yaml:3:1: `, 'm'));
    expect(lastLine(run.stdout)).toBe('0 passed, 0 failed');
  });

  test('callers, headers, query, source address and trust domains reach the policies as on the server', async () => {
    const policies = [
      '@id("tenant-header") permit (principal == Workload::"spiffe://prod.example/ns/shop/sa/frontend", action, resource)',
      'when { context.headers.hasTag("x-tenant") && context.headers.getTag("x-tenant") == "acme" };',
      '@id("dry-run-query") permit (principal in Group::"sre", action in Action::"write", resource)',
      'when { context.query.hasTag("dryRun") && context.query.getTag("dryRun") == "true" && principal.issuer == "https://login.example.com" };',
      '@id("office") permit (principal == Anonymous::"anonymous", action, resource)',
      'when { context.source has ip && context.source.ip.isInRange(ip("192.0.2.0/24")) };',
      '@id("automation") permit (principal is Workload, action, resource) when { principal.class == "automation" };',
      '',
    ].join('\n');
    const cases = [
      'cases:',
      '  - { name: tenant header, serviceAccount: shop/frontend, service: a.b, headers: { x-tenant: acme }, expect: allow, policies: [tenant-header] }',
      '  - { name: other tenant, serviceAccount: shop/frontend, service: a.b, headers: { x-tenant: globex }, expect: deny }',
      '  - { name: first trust domain only, spiffe: "spiffe://cluster.local/ns/shop/sa/frontend", service: a.b, headers: { x-tenant: acme }, expect: deny }',
      '  - { name: query, user: { subject: alice, issuer: "https://login.example.com", groups: [sre] }, method: POST, path: "/x?dryRun=true", service: a.b, expect: allow, policies: [dry-run-query] }',
      '  - { name: issuer, user: { subject: alice, groups: [sre] }, method: POST, path: "/x?dryRun=true", service: a.b, expect: deny }',
      '  - { name: office ip, anonymous: true, sourceIp: 192.0.2.7, host: a.b.svc.cluster.local, expect: allow, policies: [office] }',
      '  - { name: class rule from config, serviceAccount: ops/reconciler, service: a.b, expect: allow, policies: [automation] }',
      '',
    ].join('\n');
    const dir = await scratchDir({
      'policies/schema.cedarschema': schema,
      'policies/p.cedar': policies,
      't.yaml': cases,
      'config.yaml': 'identity:\n  trustDomains: [prod.example, cluster.local]\n  classes: [{ class: automation, namespace: ops }]\n',
    });
    const run = await gatehouse(['test', '--config', join(dir, 'config.yaml'), '--policies', join(dir, 'policies'), '--coverage', join(dir, 't.yaml')]);
    expect(run.stdout).not.toContain('✗');
    expect(lastLine(run.stdout)).toBe('7 passed, 0 failed');
    expect(run.code).toBe(0);
  });

  test('anchors and aliases in a test file are read as YAML means them', async () => {
    const policies = '@id("staff-writes") permit (principal in Group::"staff", action in Action::"write", resource);\n';
    const cases = [
      'cases:',
      '  - { name: first, user: { subject: alice, groups: &staff [staff] }, method: POST, service: a.b, expect: allow, policies: [staff-writes] }',
      '  - { name: second, user: { subject: bob, groups: *staff }, method: POST, service: a.b, expect: allow, policies: [staff-writes] }',
      '',
    ].join('\n');
    const dir = await scratchDir({ 'policies/schema.cedarschema': schema, 'policies/p.cedar': policies, 't.yaml': cases });
    const run = await gatehouse(['test', '--policies', join(dir, 'policies'), join(dir, 't.yaml')]);
    expect(lastLine(run.stdout)).toBe('2 passed, 0 failed');
    expect(run.code).toBe(0);
  });

  test('an invalid policy set stops the run', async () => {
    const dir = await scratchDir({ 'policies/schema.cedarschema': schema, 'policies/p.cedar': 'permit (principal, action, resource) when { ~ };\n', 't.yaml': 'cases: []\n' });
    const run = await gatehouse(['test', '--policies', join(dir, 'policies'), join(dir, 't.yaml')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${dir}/policies/p.cedar:1:45: `);
  });

  test('without a test file it is a usage error', async () => {
    const run = await gatehouse(['test']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^gatehouse test: name at least one test file/);
  });
});
