import { randomBytes } from 'node:crypto';
import { readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { errorMessage } from '../errors.js';
import { formatPolicyFile } from '../policy/format-file.js';
import { usage, type CommandResult } from './command.js';

const help = `gatehouse format [--check] [--policies DIR]
  lays out every *.cedar file of DIR (default ./policies) with Cedar's own formatter and
  rewrites in place the files that change (atomically); comments are kept, and a file whose
  comments the formatter would not keep is refused, never rewritten
  --check   rewrite nothing: list the files that are not formatted
exit 0 done (with --check: every file formatted), 1 a file is not formatted (--check) or cannot
be formatted, 2 usage error`;

export async function format(argv: string[]): Promise<CommandResult> {
  const { values } = parseArgs({
    args: argv,
    options: {
      policies: { type: 'string', default: './policies' },
      check: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return usage(help, 0);
  const dir = values.policies;
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => name.endsWith('.cedar') && !name.startsWith('.')).sort();
  } catch (err) {
    return { code: 1, err: `${dir}: cannot read the policy directory: ${errorMessage(err)}\n` };
  }

  const out: string[] = [];
  const err: string[] = [];
  let unformatted = 0;
  let refused = 0;
  for (const name of names) {
    const file = join(dir, name);
    const text = await readFile(file, 'utf8').catch((error: unknown) => ({ unreadable: errorMessage(error) }));
    const result = typeof text === 'string' ? formatPolicyFile(text) : { ok: false as const, problems: [{ where: '', message: `cannot read: ${text.unreadable}` }] };
    if (!result.ok) {
      refused += 1;
      err.push(...result.problems.map((problem) => `${file}${problem.where ? `:${problem.where}` : ''}: ${problem.message}`));
      continue;
    }
    if (result.text === text) continue;
    unformatted += 1;
    if (values.check) {
      out.push(`${file}: not formatted`);
    } else {
      await writeAtomically(file, result.text);
      out.push(`${file}: formatted`);
    }
  }
  const refusedNote = refused > 0 ? `, ${refused} could not be formatted` : '';
  out.push(`${unformatted} of ${names.length} files ${values.check ? 'not formatted' : 'rewritten'}${refusedNote}`);
  const code = refused > 0 || (values.check && unformatted > 0) ? 1 : 0;
  return { code, out: `${out.join('\n')}\n`, err: err.length > 0 ? `${err.join('\n')}\n` : '' };
}

/**
 * Writes a sibling temporary file and renames it over the original, so a reader (a running
 * gatehouse follows the directory) sees the old text or the new, never half of one. The name
 * starts with a dot: the policy loader skips dot files.
 */
async function writeAtomically(file: string, text: string): Promise<void> {
  const temporary = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const { mode } = await stat(file);
  try {
    await writeFile(temporary, text, { mode, flag: 'wx' });
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
