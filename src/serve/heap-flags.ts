import { errorMessage } from '../errors.js';
import type { ProcessPlan } from './process-plan.js';

/** The V8 flags a plan asks for. V8 reads them only when the process starts. */
export function heapFlags(plan: Pick<ProcessPlan, 'semiSpaceMiB' | 'oldSpaceMiB'>): string[] {
  return [`--max-semi-space-size=${plan.semiSpaceMiB}`, `--max-old-space-size=${plan.oldSpaceMiB}`];
}

/**
 * The flags of `wanted` that neither node's command line nor NODE_OPTIONS already sets: an
 * operator's own setting of a flag wins over gatehouse's, whatever its value. V8 reads `_` and
 * `-` in flag names alike.
 */
export function flagsToAdd(wanted: readonly string[], execArgv: readonly string[], nodeOptions = ''): string[] {
  const given = new Set([...execArgv, ...nodeOptions.split(/\s+/)].map(flagName));
  return wanted.filter((flag) => !given.has(flagName(flag)));
}

function flagName(arg: string): string {
  return arg.split('=')[0]!.replaceAll('_', '-');
}

/**
 * Replaces this process with node started again with `flags` before its own (the same pid, so a
 * container's init and signals are unaffected); cluster workers inherit them. Returns only where
 * that cannot be done (process.execve is missing on Windows, or fails), with the reason, and the
 * process carries on without them.
 */
export function restartWith(flags: readonly string[]): string {
  if (process.execve === undefined) return 'process.execve is not available on this platform';
  try {
    process.execve(process.execPath, [process.execPath, ...flags, ...process.execArgv, ...process.argv.slice(1)], process.env);
  } catch (err) {
    return errorMessage(err);
  }
  // execve never returns; the compiler cannot tell through an optional method.
  return 'process.execve returned';
}
