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

/** CPU ticks (USER_HZ, 100 a second) used so far by a process and its direct children: [user + system, user]. */
export function cpuTicks(pid) {
  let sum = 0;
  let user = 0;
  for (const p of processTree(pid)) {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ');
      sum += Number(f[11]) + Number(f[12]);
      user += Number(f[11]);
    } catch {
      // the process ended meanwhile
    }
  }
  return [sum, user];
}
