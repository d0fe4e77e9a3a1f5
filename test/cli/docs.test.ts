/**
 * docs/policies.md teaches by example; its examples must stay true. Every Cedar block is valid
 * against the shipped schema and in Cedar's layout, and its test file passes on the shipped
 * policies.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { examplePolicyDir, gatehouse, lastLine, projectRoot, removeScratch, scratchDir } from './cli.js';

const page = readFileSync(join(projectRoot, 'docs', 'policies.md'), 'utf8');
const blocks = (language: string) => [...page.matchAll(new RegExp(`^\`\`\`${language}\\n([\\s\\S]*?)^\`\`\`$`, 'gm'))].map((match) => match[1]!);

afterAll(removeScratch);

test('every Cedar example is valid, draws no warning and is formatted', async () => {
  const cedar = blocks('cedar');
  expect(cedar.length).toBeGreaterThan(5);
  const files = Object.fromEntries(cedar.map((text, index) => [`example-${index}.cedar`, text]));
  const dir = await scratchDir({ ...files, 'schema.cedarschema': readFileSync(join(examplePolicyDir, 'schema.cedarschema'), 'utf8') });
  const validated = await gatehouse(['validate', '--policies', dir]);
  expect(validated.stderr).toBe('');
  expect(validated.code).toBe(0);
  const formatted = await gatehouse(['format', '--check', '--policies', dir]);
  expect(formatted.stdout).toBe(`0 of ${cedar.length} files not formatted\n`);
});

test('the example test file passes on the shipped policies', async () => {
  const yaml = blocks('yaml').filter((text) => text.startsWith('cases:'));
  expect(yaml).toHaveLength(1);
  const dir = await scratchDir({ 'example.yaml': yaml[0]! });
  const run = await gatehouse(['test', '--policies', examplePolicyDir, join(dir, 'example.yaml')]);
  expect(run.stdout).not.toContain('✗');
  expect(lastLine(run.stdout)).toBe('4 passed, 0 failed');
  expect(run.code).toBe(0);
});
