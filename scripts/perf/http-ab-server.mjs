/* global process, console */
// Two builds' HTTP authorization servers side by side, measured in alternation: the server's CPU
// time (utime+stime from /proc) per request over `pairs` short h2load runs of each, A then B then
// A..., so that a machine whose speed drifts over minutes (a shared VM) drifts under both alike.
// Prints each build's median µs per request and the median and range of the per-pair ratios B/A.
// Both servers run on CPU 0 and h2load on CPU 1 (they never run at once). The two processes are
// started afresh `procs` times: one process of a build can run ±10% off another of the same
// build for the whole of its life on this VM (its memory's placement), so one pair of processes
// cannot tell two builds apart by less than that.
// node scripts/perf/http-ab-server.mjs <rootA> <rootB> <fa-xfcc|fa-token|envoy-xfcc> [procs=4] [pairs=6] [n=30000]
// <root> is a checkout with dist built (or a copy of dist and package.json with node_modules linked).
// Env: EXTRA_A / EXTRA_B: node flags for one side; EXTRA_YAML: appended to both configs.
import { spawn, execFileSync } from 'node:child_process';
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { cpuTicks } from './proc-tree.mjs';
import { httpScenario } from './http-scenario.mjs';

const [rootA, rootB, scenario, procsArg = '4', pairsArg = '6', nArg = '30000'] = process.argv.slice(2);
const procs = Number(procsArg);
const pairs = Number(pairsArg);
const n = Number(nArg);
const { work, policies, configFile, headerArgs, path } = await httpScenario(scenario, 'http-ab-server-');

async function start(root, side) {
  const extra = process.env[`EXTRA_${side}`] ? process.env[`EXTRA_${side}`].split(' ') : [];
  const logFd = openSync(join(work, `decisions-${side}.jsonl`), 'w');
  const args = [...extra, join(root, 'dist/src/main.js'), 'serve', '--config', configFile, '--policies', policies, '--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--workers', '1'];
  const child = spawn('taskset', ['-c', '0', process.execPath, ...args], { stdio: ['ignore', logFd, 'pipe'] });
  const address = await new Promise((resolve, reject) => {
    let buf = '';
    child.stderr.on('data', (c) => {
      buf += c;
      const m = /"httpAuthz":"([^"]+)"/.exec(buf);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${buf}`)));
  });
  return { child, address };
}

const h2 = (address, count) => {
  const out = execFileSync('taskset', ['-c', '1', 'h2load', '--h1', '-c', '16', '-m', '1', '-n', String(count), ...headerArgs, `http://${address}${path}`], { encoding: 'utf8' });
  if (!new RegExp(`status codes: ${count} 2xx`).test(out)) throw new Error(out);
};
const cpuSeconds = (pid) => cpuTicks(pid)[0] / 100;
function measure(server) {
  const before = cpuSeconds(server.child.pid);
  h2(server.address, n);
  return ((cpuSeconds(server.child.pid) - before) * 1e6) / n;
}

const xs = [];
const ys = [];
const perProcess = [];
for (let proc = 0; proc < procs; proc++) {
  // Alternate which build starts first, too.
  const [a, b] = proc % 2 === 0 ? [await start(rootA, 'A'), await start(rootB, 'B')] : await Promise.all([start(rootB, 'B'), start(rootA, 'A')]).then(([bb, aa]) => [aa, bb]);
  try {
    h2(a.address, 20000);
    h2(b.address, 20000);
    const px = [];
    const py = [];
    for (let i = 0; i < pairs; i++) {
      // Alternate which side goes first, so neither always follows the other.
      if (i % 2 === 0) {
        px.push(measure(a));
        py.push(measure(b));
      } else {
        py.push(measure(b));
        px.push(measure(a));
      }
    }
    xs.push(...px);
    ys.push(...py);
    perProcess.push(+(median(py) / median(px)).toFixed(3));
  } finally {
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
  }
}
const ratios = xs.map((x, i) => ys[i] / x).sort((p, q) => p - q);
console.log(
  JSON.stringify({
    scenario,
    a: { root: rootA, medianUs: +median(xs).toFixed(2) },
    b: { root: rootB, medianUs: +median(ys).toFixed(2) },
    ratio: { median: +median(ratios).toFixed(3), quartiles: [+ratios[Math.floor(ratios.length / 4)].toFixed(3), +ratios[Math.floor((3 * ratios.length) / 4)].toFixed(3)], perProcessPair: perProcess },
  }),
);

function median(v) {
  return [...v].sort((p, q) => p - q)[Math.floor((v.length - 1) / 2)];
}
