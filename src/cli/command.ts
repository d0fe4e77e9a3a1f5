/** What a command returns to src/main.ts: the exit code, and text for stdout and stderr. */
export interface CommandResult {
  readonly code: number;
  readonly out?: string;
  readonly err?: string;
}

export function usage(text: string, code: number): CommandResult {
  return code === 0 ? { code, out: `${text}\n` } : { code, err: `${text}\n` };
}
