/**
 * Where one deciding process's memory goes: `node dist/bench/memory-probe.js [POLICIES]` loads a
 * generated set as the server does and decides cache misses through the cached authorizer,
 * printing after each step the RSS, V8's heap, memory outside it, and cedar-wasm's linear memory
 * (the largest mapping of the process, whose pages wasm never hands back).
 */
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getHeapSpaceStatistics } from 'node:v8';
import { policyDir, shopWide } from './estate.js';

const here = dirname(fileURLToPath(import.meta.url));
const policies = Number(process.argv[2] ?? 10_000);

/** cedar-wasm does not export its memory; the instance it makes at import is caught here, before that import. */
interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
/** The few WebAssembly names used here (the project's `lib` leaves WebAssembly out). */
const wasm = (globalThis as unknown as { WebAssembly: { Instance: new (...args: unknown[]) => WasmInstance } }).WebAssembly;
const memories: { buffer: ArrayBuffer }[] = [];
wasm.Instance = new Proxy(wasm.Instance, {
  construct(target, args: unknown[]) {
    const instance = new target(...args);
    const memory = instance.exports.memory as { buffer?: unknown } | undefined;
    if (memory?.buffer instanceof ArrayBuffer) memories.push(memory as { buffer: ArrayBuffer });
    return instance;
  },
});
const { microbench } = await import('./micro.js');

const wasmMiB = (): number => Math.round(memories.reduce((sum, m) => sum + m.buffer.byteLength, 0) / 2 ** 20);

function show(step: string): void {
  const m = process.memoryUsage();
  const mib = (n: number): number => Math.round(n / 2 ** 20);
  const spaces = getHeapSpaceStatistics()
    .filter((s) => s.space_used_size > 2 ** 20)
    .map((s) => `${s.space_name} ${mib(s.space_used_size)}/${mib(s.space_size)}`)
    .join(', ');
  process.stdout.write(`${step}: rss ${mib(m.rss)}, heap ${mib(m.heapUsed)}/${mib(m.heapTotal)}, external ${mib(m.external)} (array buffers ${mib(m.arrayBuffers)}), wasm ${wasmMiB()} MiB; ${spaces}\n`);
}

show('start');
const dir = policyDir(join(here, '..', '..', 'policies'), policies, shopWide);
show('set written');
await microbench(dir, policies);
show(`${policies} policies loaded and decided`);
globalThis.gc?.();
show('after a full gc');
process.stdout.write(`resident MiB by mapping: ${mappings()}\n`);

/** Resident memory by mapping: the malloc heap, anonymous mappings (V8's pages, wasm code, thread stacks), the node binary. */
function mappings(): string {
  const groups = new Map<string, number>();
  let name = '';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const range = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (range) name = range[4] || `anonymous ${range[3]}`;
    else if (line.startsWith('Rss:')) groups.set(name, (groups.get(name) ?? 0) + Number(/(\d+)/.exec(line)![1]) / 1024);
  }
  return [...groups].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([key, mib]) => `${key} ${mib.toFixed(0)}`).join(', ');
}
