/**
 * scripts/render-policies-configmap.mjs, the documented way to turn a policy directory into the
 * gatehouse-policies ConfigMap (docs/deploy.md, "Policies"), run as a user runs it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigMap, type IConfigMap } from 'kubernetes-models/v1';
import { parse as parseYaml } from 'yaml';
import { k8sDir, repoRoot } from './manifests.js';

const script = join(repoRoot, 'scripts', 'render-policies-configmap.mjs');

function render(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [script, ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 20_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('render-policies-configmap', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-render-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('k8s/configmap-policies.yaml is exactly what it renders from policies/ (npm run render:policies)', () => {
    const run = render('policies');
    expect(run).toMatchObject({ status: 0, stderr: '' });
    expect(run.stdout).toBe(readFileSync(join(k8sDir, 'configmap-policies.yaml'), 'utf8'));
  });

  test('takes any directory: its policies and schema byte for byte, nothing else, under the name and namespace asked for', () => {
    const files = { 'a.cedar': 'permit (principal, action, resource);\n', 'b.cedar': '// tabs\tand "quotes"\n\n', 'schema.cedarschema': 'entity Workload;\n' };
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    writeFileSync(join(dir, 'inventory.yaml'), 'workloads: []\n');
    writeFileSync(join(dir, 'notes.md'), '# not a policy\n');
    const out = join(dir, 'out.yaml');
    const run = render(dir, '--out', out, '--name', 'team-policies', '--namespace', 'team-a');
    expect(run.status).toBe(0);
    const configMap = parseYaml(readFileSync(out, 'utf8')) as IConfigMap;
    expect(() => new ConfigMap(configMap).validate()).not.toThrow();
    expect(configMap.metadata).toEqual({ name: 'team-policies', namespace: 'team-a', labels: { 'app.kubernetes.io/name': 'gatehouse' } });
    expect(configMap.data).toEqual(files);
  });

  test.each<[string, (dir: string) => string[], number, RegExp]>([
    ['no directory', () => [], 2, /expected one policy directory/],
    ['an unknown option', (d) => [d, '--force'], 2, /Unknown option '--force'/],
    ['a directory that does not exist', (d) => [join(d, 'missing')], 1, /cannot read the policy directory/],
    ['no schema', (d) => (writeFileSync(join(d, 'a.cedar'), ''), [d]), 1, /no schema\.cedarschema/],
    ['a schema and no policy', (d) => (writeFileSync(join(d, 'schema.cedarschema'), ''), [d]), 1, /no \*\.cedar policy file/],
    ['more than a ConfigMap holds', (d) => (writeFileSync(join(d, 'schema.cedarschema'), ''), writeFileSync(join(d, 'big.cedar'), 'x'.repeat(1024 * 1024 + 1)), [d]), 1, /more than the 1048576/],
  ])('refuses %s, writing nothing', (_name, setup, status, message) => {
    const run = render(...setup(dir));
    expect(run.status).toBe(status);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
  });
});
