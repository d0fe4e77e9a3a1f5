/**
 * docs/report.md's worked example of "Tightening grants" stays true: the documented command on
 * the shipped policies, examples/inventory.yaml and examples/decisions/ prints what the page
 * shows, and the suggested set passes its test file and only revokes.
 */
import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gatehouse, projectRoot, removeScratch, scratchDir } from '../cli/cli.js';

const doc = await readFile(join(projectRoot, 'docs', 'report.md'), 'utf8');
const section = doc.slice(doc.indexOf('### Worked example'));
const block = (after: string): string => {
  const start = section.indexOf('```', section.indexOf(after) + after.length);
  const body = section.indexOf('\n', start) + 1;
  return section.slice(body, section.indexOf('```', body));
};

describe('docs/report.md worked example', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await scratchDir();
    for (const name of ['policies', 'examples']) await cp(join(projectRoot, name), join(dir, name), { recursive: true });
  });
  afterAll(removeScratch);

  test('the documented run prints what the page shows, and the set passes its tests and only revokes', async () => {
    const command = block('the build job acting for someone):');
    expect(command).toContain('--logs examples/decisions --now 2025-01-31T12:00:00Z --out review --suggest suggested');
    const args = command.replace(/\\\n\s*/g, '').trim().split(/\s+/).slice(1);
    const run = await gatehouse(args, { cwd: dir });
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toBe(block("--out review --suggest suggested\n```"));
    const observed = await readFile(join(dir, 'suggested', 'observed.cedar'), 'utf8');
    for (const permit of block('denied, and suggests nothing):').split('\n\n')) expect(observed).toContain(permit.trim());
    const transcript = block('expect: deny\n```');
    const validate = await gatehouse(['validate', '--policies', 'suggested'], { cwd: dir });
    expect(transcript).toContain(`$ gatehouse validate --policies suggested\n${validate.stdout}`);
    const test = await gatehouse(['test', '--policies', 'suggested', join('suggested', 'tests', 'observed.yaml')], { cwd: dir });
    expect(test.code).toBe(0);
    expect(transcript).toContain(test.stdout.trimEnd().split('\n').at(-1)!);
    const diff = await gatehouse(['diff', '--inventory', 'examples/inventory.yaml', 'policies', 'suggested'], { cwd: dir });
    expect(diff.code).toBe(0);
    for (const line of diff.stdout.trimEnd().split('\n').filter((_, index, all) => index === 0 || index === all.length - 1)) expect(transcript).toContain(line);
    // The lines the page quotes are the diff's, in its order.
    const quoted = transcript.split('\n').filter((line) => line.startsWith('- '));
    const printed = diff.stdout.split('\n');
    expect(quoted.map((line) => printed.indexOf(line))).toEqual(quoted.map((line) => printed.indexOf(line)).filter((index) => index >= 0).sort((a, b) => a - b));
  });
});
