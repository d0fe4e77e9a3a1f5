/**
 * The container image: the Dockerfile's runtime stage, the build context it may see, and that
 * `npm ci --omit=dev` installs every package the server imports. No image is built here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join } from 'node:path';
import type { IDeployment } from 'kubernetes-models/apps/v1';
import { findDoc, readDocs, repoRoot } from './manifests.js';

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

/** Dockerfile instructions, continuation lines joined, comments and parser directives dropped. */
function parseDockerfile(text: string): Instruction[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

/** The instructions of each stage, by stage name (`FROM … AS name`). */
function stages(instructions: readonly Instruction[]): Map<string, Instruction[]> {
  const byStage = new Map<string, Instruction[]>();
  let current: Instruction[] | undefined;
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const name = /\sAS\s+(\S+)$/i.exec(instruction.args)?.[1] ?? `stage${byStage.size}`;
      current = [instruction];
      byStage.set(name, current);
    } else {
      current?.push(instruction);
    }
  }
  return byStage;
}

const packageJson = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
  dependencies: Record<string, string>;
};
const instructions = parseDockerfile(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'));
const byStage = stages(instructions);
const runtime = [...byStage.values()].at(-1)!;
const args = (keyword: string): string[] => runtime.filter((instruction) => instruction.keyword === keyword).map((instruction) => instruction.args);

describe('the Dockerfile', () => {
  test('builds in one stage and runs in another, both on node:24-slim', () => {
    expect([...byStage.keys()]).toEqual(['build', 'runtime']);
    const baseArg = instructions.find((instruction) => instruction.keyword === 'ARG' && instruction.args.startsWith('NODE_IMAGE='));
    expect(baseArg?.args).toBe('NODE_IMAGE=node:24-slim');
    for (const stage of byStage.values()) expect(stage[0]!.args).toMatch(/^\$\{NODE_IMAGE\} AS /);
  });

  test('builds with `npm ci` and `npm run build`', () => {
    const runs = byStage.get('build')!.filter((instruction) => instruction.keyword === 'RUN').map((instruction) => instruction.args);
    expect(runs.some((run) => run.startsWith('npm ci'))).toBe(true);
    expect(runs).toContain('npm run build');
  });

  test('installs production dependencies only in the runtime stage', () => {
    expect(args('RUN').some((run) => /^npm ci\b.*--omit=dev/.test(run))).toBe(true);
  });

  test('copies the compiled server, the protos and the example policies into the runtime stage', () => {
    const copies = args('COPY');
    expect(copies).toContain('--from=build /app/dist ./dist');
    expect(copies).toContain('proto ./proto');
    expect(copies).toContain('policies ./policies');
  });

  test('runs the package bin as the numeric user the Deployment expects', () => {
    const pod = findDoc<IDeployment>(readDocs('deployment.yaml'), 'Deployment', 'gatehouse').spec!.template.spec!;
    expect(args('USER')).toEqual([`${pod.securityContext!.runAsUser}:${pod.securityContext!.runAsGroup}`]);
    expect(args('ENTRYPOINT')).toEqual([JSON.stringify(['node', packageJson.bin['gatehouse']]).replace(/,/g, ', ')]);
    expect(args('CMD')).toEqual(['["serve"]']);
    expect(args('EXPOSE')).toEqual(['9191 9192']);
  });

  test('every file it copies from the build context is let through by .dockerignore', () => {
    const ignore = readFileSync(join(repoRoot, '.dockerignore'), 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    expect(ignore[0]).toBe('*');
    const allowed = new Set(ignore.filter((line) => line.startsWith('!')).map((line) => line.slice(1)));
    const sources = instructions
      .filter((instruction) => instruction.keyword === 'COPY' && !instruction.args.startsWith('--from'))
      .flatMap((instruction) => instruction.args.split(/\s+/).slice(0, -1));
    expect(sources.filter((source) => !allowed.has(source))).toEqual([]);
  });
});

describe('npm ci --omit=dev', () => {
  test('installs every package that src/ imports at run time', () => {
    const imports = runtimeImports();
    expect(imports).toEqual(expect.arrayContaining(['@grpc/grpc-js', '@cedar-policy/cedar-wasm', 'yaml', 'zod']));
    expect(imports.filter((pkg) => !(pkg in packageJson.dependencies))).toEqual([]);
  });
});

/** Package names that src/ imports in a form the compiler keeps (everything but `import type`). */
function runtimeImports(): string[] {
  const srcDir = join(repoRoot, 'src');
  const files = readdirSync(srcDir, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts'));
  const staticForm = /^\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;
  const dynamicForm = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;
  const specifiers = files.flatMap((file) => {
    const text = readFileSync(join(srcDir, file), 'utf8');
    return [...text.matchAll(staticForm), ...text.matchAll(dynamicForm)].map((match) => match[1]!);
  });
  const packages = specifiers
    .filter((specifier) => !specifier.startsWith('.') && !isBuiltin(specifier))
    .map((specifier) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/'));
  return [...new Set(packages)].sort();
}
