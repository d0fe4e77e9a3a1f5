import type { PolicyEngine } from '../policy/cedar/engine.js';
import { loadPolicies } from '../policy/loader.js';
import { formatProblem } from '../policy/problem.js';

/** The policy set of `dir` for a command that evaluates it, or the text saying why it cannot be used. */
export async function loadEngine(dir: string): Promise<{ ok: true; engine: PolicyEngine } | { ok: false; err: string }> {
  const loaded = await loadPolicies(dir);
  if (loaded.ok) return loaded;
  const lines = loaded.problems.map(formatProblem);
  return { ok: false, err: `${lines.join('\n')}\n${dir}: the policy set is invalid (run 'gatehouse validate --policies ${dir}')\n` };
}
