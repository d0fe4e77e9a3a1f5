/** One thing wrong (or suspicious) in a policy or schema file, located for an editor. */
export interface PolicyProblem {
  readonly file: string;
  /** 1-based; 0 when the problem is about the file as a whole (missing, unreadable). */
  readonly line: number;
  /** 1-based, in characters (code points); 0 with line 0. */
  readonly col: number;
  readonly message: string;
  readonly severity: 'error' | 'warning';
  /** The policy Cedar's validator blamed, when it named one. */
  readonly policy?: string;
}

/** `FILE:LINE:COL: message`, the form compilers use and editors link (docs/reference.md, `gatehouse validate`). */
export function formatProblem(problem: PolicyProblem): string {
  const where = problem.line > 0 ? `${problem.file}:${problem.line}:${problem.col}` : problem.file;
  const prefix = problem.severity === 'warning' ? 'warning: ' : '';
  return `${where}: ${prefix}${problem.message}`;
}
