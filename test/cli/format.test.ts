import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { examplePolicyDir, gatehouse, removeScratch, scratchDir } from './cli.js';

const unformatted = [
  '// Shop policies: the header of the file, about all of it.',
  '',
  '// The frontend reads orders.',
  '@id("frontend-reads-orders") permit(principal==Workload::"spiffe://cluster.local/ns/shop/sa/frontend",action in Action::"read",',
  '  resource==Service::"orders.shop") when {context.path like "/api/orders*" // and nothing else',
  '};',
  '',
].join('\n');

const formatted = [
  '// Shop policies: the header of the file, about all of it.',
  '',
  '// The frontend reads orders.',
  '@id("frontend-reads-orders")',
  'permit (',
  '  principal == Workload::"spiffe://cluster.local/ns/shop/sa/frontend",',
  '  action in Action::"read",',
  '  resource == Service::"orders.shop"',
  ')',
  'when',
  '{',
  '  context.path',
  '  like',
  '  "/api/orders*" // and nothing else',
  '};',
  '',
].join('\n');

afterAll(removeScratch);

describe('gatehouse format', () => {
  test('the shipped policies are formatted', async () => {
    const run = await gatehouse(['format', '--check', '--policies', examplePolicyDir]);
    const files = readdirSync(examplePolicyDir).filter((name) => name.endsWith('.cedar')).length;
    expect(run).toEqual({ code: 0, stdout: `0 of ${files} files not formatted\n`, stderr: '' });
  });

  test('--check lists an unformatted file, exits 1 and changes nothing', async () => {
    const dir = await scratchDir({ 'shop.cedar': unformatted, 'ok.cedar': formatted, 'notes.txt': 'not a policy' });
    const run = await gatehouse(['format', '--check', '--policies', dir]);
    expect(run).toEqual({ code: 1, stdout: `${dir}/shop.cedar: not formatted\n1 of 2 files not formatted\n`, stderr: '' });
    expect(readFileSync(join(dir, 'shop.cedar'), 'utf8')).toBe(unformatted);
  });

  test('rewrites in place, keeping every comment and the file header apart, and leaves no temporary file', async () => {
    const dir = await scratchDir({ 'shop.cedar': unformatted, 'ok.cedar': formatted });
    const run = await gatehouse(['format', '--policies', dir]);
    expect(run).toEqual({ code: 0, stdout: `${dir}/shop.cedar: formatted\n1 of 2 files rewritten\n`, stderr: '' });
    expect(readFileSync(join(dir, 'shop.cedar'), 'utf8')).toBe(formatted);
    expect(readdirSync(dir).sort()).toEqual(['ok.cedar', 'shop.cedar']);
    expect((await gatehouse(['format', '--check', '--policies', dir])).code).toBe(0);
  });

  test('a file that does not parse is reported at FILE:LINE:COL and left alone', async () => {
    const broken = 'permit (principal, action, resource)\nwhen { context.path ~ "/x" };\n';
    const dir = await scratchDir({ 'broken.cedar': broken, 'shop.cedar': unformatted });
    const run = await gatehouse(['format', '--policies', dir]);
    expect(run).toEqual({
      code: 1,
      stdout: `${dir}/shop.cedar: formatted\n1 of 2 files rewritten, 1 could not be formatted\n`,
      stderr: `${dir}/broken.cedar:2:21: cannot parse input policies: invalid token\n`,
    });
    expect(readFileSync(join(dir, 'broken.cedar'), 'utf8')).toBe(broken);
  });

  test('files without policies (empty, or only comments) are left as they are', async () => {
    const dir = await scratchDir({ 'empty.cedar': '', 'retired.cedar': '// every policy here was retired in 2026\n' });
    const run = await gatehouse(['format', '--check', '--policies', dir]);
    expect(run).toEqual({ code: 0, stdout: '0 of 2 files not formatted\n', stderr: '' });
  });

  test('a directory that cannot be read is an error', async () => {
    const run = await gatehouse(['format', '--policies', '/nonexistent/policies']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^\/nonexistent\/policies: cannot read the policy directory: ENOENT/);
  });
});
