#!/usr/bin/env node
import { errorMessage, GatehouseError } from './errors.js';
import type { CommandResult } from './cli/command.js';

const commands: Record<string, () => Promise<(argv: string[]) => Promise<CommandResult>>> = {
  serve: async () => (await import('./cli/serve.js')).serve,
  call: async () => (await import('./cli/call.js')).call,
  report: async () => (await import('./cli/report.js')).report,
  diff: async () => (await import('./cli/diff.js')).diff,
  validate: async () => (await import('./cli/validate.js')).validate,
  test: async () => (await import('./cli/test.js')).test,
  check: async () => (await import('./cli/check.js')).check,
  format: async () => (await import('./cli/format.js')).format,
};

const help = `usage: gatehouse <command> [options]
commands:
  serve      run the ext_authz gRPC server and the health/metrics HTTP server
  call       send a CheckRequest to a running server and print the response
  report     access review: effective access, observed use and findings as JSON, Markdown and HTML
  diff       the access a policy change grants and revokes, per identity, service and method (CI review)
  validate   parse and strictly validate the policies against the schema (FILE:LINE:COL: message)
  test       run policy test cases (YAML) through the server's decision code; --coverage
  check      decide one CheckRequest (Envoy's proto3 JSON) offline and explain the decision
  format     lay out the *.cedar files with Cedar's formatter; --check lists unformatted files
run 'gatehouse <command> --help' for a command's options`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const load = name === undefined ? undefined : commands[name];
  if (!load) {
    process.stderr.write(`${help}\n`);
    return name === undefined || name === '--help' || name === 'help' ? 0 : 2;
  }
  try {
    const result = await (await load())(rest);
    if (result.out) process.stdout.write(result.out);
    if (result.err) process.stderr.write(result.err);
    return result.code;
  } catch (err) {
    // Bad flags and config are the operator's to fix: say what is wrong, exit 2, no stack.
    if (err instanceof GatehouseError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`gatehouse ${name}: ${errorMessage(err)}\n`);
      return 2;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`gatehouse: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
