/* global process, URL, console, setTimeout */
// The server's CPU per repeated gRPC Check, by thread: starts `<root>/dist/src/main.js serve` (100
// policies, one process, decision lines to a file) or, with `floor`, bench/floor-server.js; warms
// up with 20,000 Checks, runs `h2load -c 1 -m 64 -n N` with one pre-encoded CheckRequest and
// prints utime+stime per Check in all, and per thread (MainThread; V8Worker: the collector's
// helpers), from /proc. <root> is a checkout with dist built (e.g. a `git worktree` of the build
// before a change). Env: EXTRA="node flags", EXTRA_YAML (the config file's text), PERF=<file>
// (records `perf record -g` of the server during the measured run), GCLOG=<file> (the server's
// stdout, e.g. with EXTRA=--trace-gc-nvp).
// node scripts/perf/grpc-cpu.mjs <root|floor> <N>
import { spawn, execFileSync } from 'node:child_process';
import { openSync, readFileSync, writeFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processTree } from './proc-tree.mjs';
const [root, nArg] = process.argv.slice(2);
const n = Number(nArg);
const wt = new URL('../..', import.meta.url).pathname;
const { policyDir, frontend, writeBodies } = await import(`${wt}/dist/bench/estate.js`);
const work = mkdtempSync(join(tmpdir(), 'grpc-cpu-'));
const policies = policyDir(join(wt, 'policies'), 100);
const body = writeBodies(join(work, 'one.bin'), [{ principal: frontend, path: '/api/orders/42' }]);
const configFile = join(work, 'c.yaml');
writeFileSync(configFile, process.env.EXTRA_YAML ?? '{}\n');
const logFd = openSync(join(work, 'decisions.jsonl'), 'w');
const floor = root === 'floor';
const extra = process.env.EXTRA ? process.env.EXTRA.split(' ') : [];
const args = floor ? [...extra, join(wt, 'dist/bench/floor-server.js'), '127.0.0.1:0'] : [...extra, join(root, 'dist/src/main.js'), 'serve', '--config', configFile, '--policies', policies, '--listen', '127.0.0.1:0', '--workers', '1'];
const child = spawn(process.execPath, args, { stdio: ['ignore', process.env.GCLOG ? openSync(process.env.GCLOG, 'w') : logFd, 'pipe'] });
const address = await new Promise((resolve, reject) => {
  let buf = '';
  child.stderr.on('data', (c) => { buf += c; const m = /"(?:grpc|listen|address)":"([^"]+)"/.exec(buf); if (m) resolve(m[1]); });
  child.once('exit', (code) => reject(new Error(`exited ${code}: ${buf}`)));
});
const h2 = (count) => execFileSync('h2load', ['-c', '1', '-m', '64', '-n', String(count), `--data=${body}`, '-H', 'content-type: application/grpc', '-H', 'te: trailers', `http://${address}/envoy.service.auth.v3.Authorization/Check`], { encoding: 'utf8' });
function threads() {
  const out = {};
  for (const p of processTree(child.pid)) for (const t of readdirSync(`/proc/${p}/task`)) {
    try { const raw = readFileSync(`/proc/${p}/task/${t}/stat`, 'utf8'); const name = raw.slice(raw.indexOf('(') + 1, raw.lastIndexOf(')')); const f = raw.split(') ')[1].split(' '); out[`${t} ${name}`] = { u: Number(f[11]), s: Number(f[12]) }; } catch { /* the thread ended meanwhile */ }
  }
  return out;
}
h2(20000);
const tb = threads();
let tracer; if (process.env.PERF) { tracer = spawn('perf', ['record', '-F', '2999', '-g', '-p', String(child.pid), '-o', process.env.PERF], { stdio: 'ignore' }); await new Promise((r) => setTimeout(r, 1000)); }
const out = h2(n);
if (tracer) { tracer.kill('SIGINT'); await new Promise((r) => tracer.once('exit', r)); }
const ta = threads();
let u = 0, s = 0; const per = [];
for (const [k, v] of Object.entries(ta)) { const b = tb[k] ?? { u: 0, s: 0 }; u += v.u - b.u; s += v.s - b.s; if (v.u - b.u + v.s - b.s > 0) per.push(`${k.split(' ')[1]}:${((v.u - b.u + v.s - b.s) * 1e4 / n).toFixed(1)}`); }
const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]) / 1024;
const ok = /status codes: (\d+) 2xx/.exec(out)[1];
const rps = /finished in [^,]+, ([\d.]+) req\/s/.exec(out)[1];
console.log(JSON.stringify({ root, us: +((u + s) * 1e4 / n).toFixed(1), user: +(u * 1e4 / n).toFixed(1), sys: +(s * 1e4 / n).toFixed(1), threads: per.join(' '), rss: Math.round(rss), ok: +ok, rps: +rps }));
child.kill('SIGTERM');
