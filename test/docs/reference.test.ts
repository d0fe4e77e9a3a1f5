/**
 * docs/reference.md is the whole public contract for users; these tests hold its tables to the
 * code, so that a key, default, reason code, metric or flag added or changed in one place and not
 * the other fails here: the configuration tables against the zod schema of src/config.ts, the
 * reason codes against src/errors.ts, the metrics against every prom-client metric registered in
 * src, the commands against src/main.ts and the flags against each command's parseArgs options.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { configSchema, parseConfig } from '../../src/config.js';
import { policyDenied } from '../../src/core/decision.js';
import { ErrorCode } from '../../src/errors.js';
import { projectRoot } from '../support/server-process.js';

const reference = readFileSync(join(projectRoot, 'docs', 'reference.md'), 'utf8');

/** The text of a `## NAME` section, up to the next `## ` heading. */
function section(name: string): string {
  const start = reference.indexOf(`\n## ${name}\n`);
  if (start < 0) throw new Error(`docs/reference.md has no section "## ${name}"`);
  const end = reference.indexOf('\n## ', start + 1);
  return reference.slice(start, end < 0 ? undefined : end);
}

/** Table rows whose first cell is one code span, as `{ key, cells }` (the cells after the first). */
function rows(text: string): { key: string; cells: string[] }[] {
  return text
    .split('\n')
    .filter((line) => /^\| `[^`]+` \|/.test(line))
    .map((line) => {
      const cells = line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim());
      return { key: /^`([^`]+)`$/.exec(cells[0]!)?.[1] ?? cells[0]!, cells: cells.slice(1) };
    });
}

// ---- configuration ---------------------------------------------------------------------------

interface ConfigKey {
  readonly path: string;
  /** The innermost definition: string, number, boolean, enum, array or record. */
  readonly def: ZodDef;
  readonly hasDefault: boolean;
  readonly defaultValue: unknown;
  readonly optional: boolean;
}

interface ZodDef {
  readonly type: string;
  readonly innerType?: { def: ZodDef };
  readonly element?: { def: ZodDef };
  readonly shape?: Record<string, { def: ZodDef }>;
  readonly entries?: Record<string, string>;
  readonly defaultValue?: unknown;
  readonly checks?: readonly { _zod: { def: { format?: string } } }[];
}

/**
 * Every key path of the schema whose value is not a mapping (`identity.jwt[].issuer`), with its
 * default. Mappings are sections; a list of mappings is a key and its elements' keys are keys.
 */
function configKeys(def: ZodDef, path: string, out: ConfigKey[], wrap = { hasDefault: false, defaultValue: undefined as unknown, optional: false }): ConfigKey[] {
  switch (def.type) {
    case 'default':
      return configKeys(def.innerType!.def, path, out, { ...wrap, hasDefault: true, defaultValue: def.defaultValue });
    case 'prefault':
    case 'optional':
      return configKeys(def.innerType!.def, path, out, { ...wrap, optional: true });
    case 'object':
      for (const [name, child] of Object.entries(def.shape!)) configKeys(child.def, path === '' ? name : `${path}.${name}`, out);
      return out;
    case 'array':
      out.push({ path, def, ...wrap });
      if (def.element!.def.type === 'object') configKeys(def.element!.def, `${path}[]`, out);
      return out;
    default:
      out.push({ path, def, ...wrap });
      return out;
  }
}

const schemaKeys = configKeys((configSchema as unknown as { def: ZodDef }).def, '', []);
const configRows = rows(section('Configuration file')).filter((row) => row.cells.length === 3);

/** The type column must say what the schema accepts, in words a reader uses. */
function typeProblem(def: ZodDef, cell: string): string | undefined {
  switch (def.type) {
    case 'string':
      return /\bstring\b/.test(cell) ? undefined : 'a string';
    case 'number':
      if (isInteger(def)) return /\binteger\b/.test(cell) ? undefined : 'an integer';
      return /^number\b/.test(cell) ? undefined : 'a number';
    case 'boolean':
      return /^boolean\b/.test(cell) ? undefined : 'a boolean';
    case 'enum': {
      const missing = Object.values(def.entries!).filter((value) => !cell.includes(`\`${value}\``));
      return missing.length === 0 ? undefined : `one of the values, missing ${missing.join(', ')}`;
    }
    case 'array':
      return /^list\b/.test(cell) ? undefined : 'a list';
    case 'record':
      return /^map\b/.test(cell) ? undefined : 'a map';
    default:
      return `a type this test knows (${def.type})`;
  }
}

function isInteger(def: ZodDef): boolean {
  return (def.checks ?? []).some((check) => check._zod.def.format === 'safeint');
}

/** The default cell's value: its first code span read as YAML, or `required` / `unset…`. */
function documentedDefault(cell: string): { kind: 'value'; value: unknown } | { kind: 'required' | 'unset' | 'other' } {
  if (cell === 'required') return { kind: 'required' };
  if (/^unset\b/.test(cell)) return { kind: 'unset' };
  const code = /^`([^`]*)`/.exec(cell);
  return code ? { kind: 'value', value: parseYaml(code[1]!) as unknown } : { kind: 'other' };
}

function valueAt(config: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], config);
}

describe('docs/reference.md, "Configuration file"', () => {
  test('the schema has keys to check, and the tables have rows', () => {
    expect(schemaKeys.length).toBeGreaterThan(40);
    expect(configRows.length).toBeGreaterThan(40);
  });

  test('every key of the schema has a row, and every row is a key of the schema', () => {
    const documented = configRows.map((row) => row.key);
    const keys = schemaKeys.map((key) => key.path);
    expect(documented.filter((key) => !keys.includes(key))).toEqual([]);
    expect(keys.filter((key) => !documented.includes(key))).toEqual([]);
    expect(documented.filter((key, index) => documented.indexOf(key) !== index)).toEqual([]);
  });

  test.each(schemaKeys.map((key) => [key.path, key] as const))('%s: the documented type and default are the schema\'s', (path, key) => {
    const row = configRows.find((candidate) => candidate.key === path);
    expect(row).toBeDefined();
    const [type = '', defaultCell = '', meaning = ''] = row!.cells;
    expect(meaning).not.toBe('');
    expect({ path, type: typeProblem(key.def, type) }).toEqual({ path, type: undefined });
    const documented = documentedDefault(defaultCell);
    if (key.hasDefault) {
      expect(documented).toEqual({ kind: 'value', value: key.defaultValue });
    } else {
      expect(documented).toEqual({ kind: key.optional ? 'unset' : 'required' });
    }
  });

  test('the defaults of an empty file are the documented ones', () => {
    const config = parseConfig({});
    for (const key of schemaKeys.filter((candidate) => !candidate.path.includes('[]') && candidate.hasDefault)) {
      const row = configRows.find((candidate) => candidate.key === key.path)!;
      const documented = documentedDefault(row.cells[1]!);
      expect({ path: key.path, value: valueAt(config, key.path) }).toEqual({ path: key.path, value: documented.kind === 'value' ? documented.value : documented });
    }
  });
});

// ---- reason codes ----------------------------------------------------------------------------

describe('docs/reference.md, "Reason codes"', () => {
  test('every code gatehouse has is in the table, and the table names no other', () => {
    const documented = rows(section('Reason codes')).map((row) => row.key);
    const codes = [...Object.values(ErrorCode), policyDenied];
    expect(documented.filter((code) => !codes.includes(code))).toEqual([]);
    expect(codes.filter((code) => !documented.includes(code))).toEqual([]);
  });

  test('every row gives a gRPC status, an HTTP status and a meaning', () => {
    for (const row of rows(section('Reason codes'))) {
      expect({ code: row.key, cells: row.cells.length, empty: row.cells.filter((cell) => cell === '').length }).toEqual({ code: row.key, cells: 3, empty: 0 });
    }
  });
});

// ---- metrics ---------------------------------------------------------------------------------

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

describe('docs/reference.md, "Metrics"', () => {
  test('every metric registered in src is in the table, and the table names no other', () => {
    const registered = new Set<string>();
    for (const file of sourceFiles(join(projectRoot, 'src'))) {
      const text = readFileSync(file, 'utf8');
      if (!text.includes('prom-client')) continue;
      for (const match of text.matchAll(/\bname: '([a-z_:][a-z0-9_:]*)'/g)) registered.add(match[1]!);
    }
    expect(registered.size).toBeGreaterThan(3);
    const documented = rows(section('Metrics')).map((row) => row.key);
    expect(documented.filter((name) => !registered.has(name))).toEqual([]);
    expect([...registered].filter((name) => !documented.includes(name))).toEqual([]);
  });

  test('the prefix of the default process metrics is the one documented', () => {
    const metrics = readFileSync(join(projectRoot, 'src', 'transport', 'metrics.ts'), 'utf8');
    const prefix = /collectDefaultMetrics\(\{[^}]*prefix: '([^']+)'/.exec(metrics)?.[1];
    expect(prefix).toBe('gatehouse_');
    expect(section('Metrics')).toContain(`with the prefix\n\`${prefix}\``);
  });
});

// ---- commands and flags ----------------------------------------------------------------------

const cliDir = join(projectRoot, 'src', 'cli');
const mainText = readFileSync(join(projectRoot, 'src', 'main.ts'), 'utf8');
const commands = [...mainText.matchAll(/^ {2}(\w+): async \(\) => \(await import\('\.\/cli\/([\w-]+)\.js'\)\)/gm)].map((match) => ({ name: match[1]!, file: match[2]! }));

/** The long options a command's `parseArgs` declares: `name: { type: … }` inside `options: {`. */
function declaredFlags(file: string): string[] {
  const text = readFileSync(join(cliDir, `${file}.ts`), 'utf8');
  const options = /options: \{\n([\s\S]*?)\n {4}\},/.exec(text)?.[1];
  if (options === undefined) throw new Error(`src/cli/${file}.ts: no parseArgs options block found`);
  return [...options.matchAll(/^\s+'?([a-z][a-z-]*)'?: \{ type: '(?:string|boolean)'/gm)].map((match) => `--${match[1]!}`);
}

/** The flags of a command's table in docs/reference.md: every `--flag` in a row's first cell. */
function documentedFlags(command: string): string[] {
  const heading = `### \`gatehouse ${command}\`\n`;
  const start = reference.indexOf(heading);
  if (start < 0) throw new Error(`docs/reference.md has no heading ${heading.trim()}`);
  const end = reference.indexOf('\n#', start + heading.length);
  const text = reference.slice(start, end < 0 ? undefined : end);
  return rows(text).flatMap((row) => [...row.key.matchAll(/--[a-z][a-z-]*/g)].map((match) => match[0]));
}

describe('docs/reference.md, "Command line"', () => {
  test('every command of src/main.ts has a section, and the command table names no other', () => {
    expect(commands.length).toBeGreaterThan(5);
    const table = [...section('Command line').matchAll(/^\| \[`(gatehouse [a-z]+)`\]\(#gatehouse-[a-z]+\) \|/gm)].map((match) => match[1]!);
    const names = commands.map((command) => `gatehouse ${command.name}`);
    expect(table.filter((name) => !names.includes(name))).toEqual([]);
    expect(names.filter((name) => !table.includes(name))).toEqual([]);
  });

  test.each(commands.map((command) => [command.name, command.file] as const))('gatehouse %s: every flag it declares is documented', (name, file) => {
    const declared = declaredFlags(file).filter((flag) => flag !== '--help');
    expect(declared.length).toBeGreaterThan(0);
    const documented = documentedFlags(name);
    expect(declared.filter((flag) => !documented.includes(flag))).toEqual([]);
    expect(documented.filter((flag) => !declared.includes(flag))).toEqual([]);
  });

  test('every command takes --help, as the reference says once for all', () => {
    for (const { file } of commands) expect(declaredFlags(file)).toContain('--help');
    expect(section('Command line')).toContain('Every command takes `--help`');
  });
});
