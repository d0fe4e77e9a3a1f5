/* global process, console, setTimeout */
// The server's CPU per HTTP authorization request, end to end: starts `<root>/dist/src/main.js serve`
// as `npm run bench -- --http` does (100 policies, decision lines to a file on stdout), warms up
// with 20,000 requests, runs `h2load --h1 -c 16 -m 1 -n N` with the bench's headers and prints
// the server's utime+stime (and utime alone) per request from /proc. <root> is a checkout with
// dist built (copy dist, proto, package.json and a node_modules link to keep a "before").
// node scripts/perf/http-cpu.mjs <root> <fa-xfcc|fa-token|envoy-xfcc> <N>   (fa-token: run http-token.mjs first)
// Env: PIN=1 (server on CPU 0, h2load on CPU 1), H2=1 (h2c instead of HTTP/1.1), EXTRA="node flags",
// EXTRA_YAML (appended to the config), PERF=<file> (perf record of the server over the measured run;
// add EXTRA=--perf-basic-prof for JavaScript's symbols).
import { spawn, execFileSync } from 'node:child_process';
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { cpuTicks } from './proc-tree.mjs';
import { httpScenario } from './http-scenario.mjs';

const [root, scenario, nArg, ...rest] = process.argv.slice(2);
const prof = rest[0] === '--prof' ? rest[1] : undefined;
const n = Number(nArg);
const { work, policies, configFile, headerArgs, path } = await httpScenario(scenario, 'fwd-cpu-');
const logFd = openSync(join(work, 'decisions.jsonl'), 'w');
const args = root.endsWith('.js') ? [...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []), root, '127.0.0.1:0'] : [...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []), ...(process.env.EXTRA ? process.env.EXTRA.split(' ') : []), join(root, 'dist/src/main.js'), 'serve', '--config', configFile, '--policies', policies, '--listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--workers', '1'];
// PIN=1: the server on CPU 0 and h2load on CPU 1, neither migrating: steadier figures on a shared machine.
const pin = process.env.PIN === '1';
const child = pin ? spawn('taskset', ['-c', '0', process.execPath, ...args], { stdio: ['ignore', logFd, 'pipe'] }) : spawn(process.execPath, args, { stdio: ['ignore', logFd, 'pipe'] });
const address = await new Promise((resolve, reject) => {
  let buf = '';
  child.stderr.on('data', (c) => {
    buf += c;
    const m = root.endsWith('.js') ? /"(?:httpAuthz|http)":"([^"]+)"/.exec(buf) : /"httpAuthz":"([^"]+)"/.exec(buf);
    if (m) resolve(m[1]);
  });
  child.once('exit', (code) => reject(new Error(`exited ${code}: ${buf}`)));
});
const url = `http://${address}${path}`;
const h2 = (count) =>
  execFileSync(pin ? 'taskset' : 'h2load', [...(pin ? ['-c', '1', 'h2load'] : []), ...(process.env.H2 === '1' ? [] : ['--h1']), '-c', '16', '-m', '1', '-n', String(count), ...headerArgs, url], { encoding: 'utf8' });
const warm = h2(Math.min(20000, n));
if (!/status codes: \d+ 2xx, 0 3xx, 0 4xx, 0 5xx/.test(warm)) throw new Error(warm);
let tracer;
if (process.env.PERF) {
  // PERF_STAT=events: count them (perf stat) instead of sampling.
  const how = process.env.PERF_STAT ? ['stat', '-e', process.env.PERF_STAT] : ['record', '-F', '2999', ...(process.env.PERF_G ? ['-g'] : [])];
  tracer = spawn('perf', [...how, '-p', String(child.pid), '-o', process.env.PERF], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 1000));
}
const before = cpuTicks(child.pid);
const out = h2(n);
const after = cpuTicks(child.pid);
if (tracer) {
  tracer.kill('SIGINT');
  await new Promise((r) => tracer.once('exit', r));
}
const ok = /status codes: (\d+) 2xx/.exec(out)[1];
const rps = /finished in [^,]+, ([\d.]+) req\/s/.exec(out)[1];
const hz = 100;
console.log(JSON.stringify({ scenario, root, cpuUsPerReq: +(((after[0] - before[0]) / hz) * 1e6 / n).toFixed(2), userUs: +(((after[1] - before[1]) / hz) * 1e6 / n).toFixed(2), ok: +ok, rps: +rps }));
child.stderr.on("data", (c) => { if (process.env.SHOW_STDERR) process.stderr.write(c); });
child.kill("SIGTERM");
await new Promise((r) => child.once('exit', r));
