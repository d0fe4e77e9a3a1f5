import { readFileSync } from 'node:fs';

/** A process and its direct children, from /proc: what the perf scripts charge a server's CPU to. */
export function processTree(pid) {
  const pids = [pid];
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    if (kids) pids.push(...kids.split(/\s+/).map(Number));
  } catch {
    // the process ended meanwhile
  }
  return pids;
}
