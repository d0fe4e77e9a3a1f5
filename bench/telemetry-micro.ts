/**
 * What telemetry costs a Check, in CPU time: the Check pipeline in-process with its record step
 * (a decision log without a destination), telemetry off and then on to the bench's OTLP sink,
 * every Check in a sampled caller trace. CPU time rather than wall time, read twice: the event
 * loop's thread alone (what a Check waits for) and the whole process, the export thread's SDK
 * work (record building, batching, protobuf encoding, sending) and the sink's reading included.
 * The exports are finished before it is read, and the Checks are paced so that the export thread
 * keeps up: a dropped record would cost nothing and flatter the figure (`dropped` says if any were).
 *
 * `node dist/bench/telemetry-micro.js [rounds]` runs it alone, off and on interleaved.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DecisionLog } from '../src/log/decision-log.js';
import { recordDecision } from '../src/log/record-decision.js';
import { CedarAuthorizer } from '../src/policy/authorizer.js';
import { loadPolicies } from '../src/policy/loader.js';
import { startTelemetry } from '../src/telemetry/telemetry.js';
import { frontend, policyDir, shopOwn, shopWorkload } from './estate.js';
import { checkMessage, inProcessPipeline } from './in-process.js';
import { startOtlpSink } from './otlp-sink.js';

const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const message = (path: string, principal = frontend) => checkMessage(path, principal, { traceparent });
/** Checks between two pauses, and the pause: about what the export thread needs for them. */
const burst = 64;
const pauseMs = 12;

export interface TelemetryCost {
  readonly load: 'repeated' | 'cache miss';
  /** CPU µs per Check of the event loop's thread. */
  readonly offUs: number;
  readonly onUs: number;
  /** CPU µs per Check of the whole process (every thread). */
  readonly offProcessUs: number;
  readonly onProcessUs: number;
  /** Records the SDK or the hand-off dropped during the run: their cost is then not counted. */
  readonly dropped: number;
}

export async function telemetryCost(dir: string, endpoint: string): Promise<TelemetryCost[]> {
  const loaded = await loadPolicies(dir);
  if (!loaded.ok) throw new Error(`policies in ${dir} do not load`);
  const metrics = { decisions: { count: () => undefined }, checkDuration: { observe: () => undefined } };
  const loads = [
    { load: 'repeated' as const, messages: [message('/api/orders/42')], count: 20_000 },
    { load: 'cache miss' as const, messages: Array.from({ length: 4000 }, (_, i) => message('/api/orders/42', shopWorkload(i))), count: 4000 },
  ];
  const results: TelemetryCost[] = [];
  for (const { load, messages, count } of loads) {
    const cpu = async (on: boolean): Promise<{ us: number; processUs: number; dropped: number }> => {
      let dropped = 0;
      const telemetry = on
        ? await startTelemetry(
            { serviceName: 'bench', otlp: { endpoint, logs: true, traces: true, sampler: 'parentbased_traceidratio', sampleRatio: 1 } },
            { dropped: (_s, n) => (dropped += n), log: () => undefined },
          )
        : undefined;
      // A fresh authorizer per run, so that both runs miss the cache alike.
      const authorizer = new CedarAuthorizer(loaded.engine);
      const pipeline = inProcessPipeline(authorizer, { record: recordDecision(new DecisionLog(undefined), metrics, telemetry?.decisions), tracing: telemetry?.tracing });
      const started = process.cpuUsage();
      const threadStarted = process.threadCpuUsage();
      for (let i = 0; i < count; i++) {
        await pipeline.run(messages[i % messages.length]!);
        // Lets timers and sockets run, as a server's event loop does between Checks.
        if (i % burst === burst - 1) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
      await telemetry?.shutdown();
      const used = process.cpuUsage(started);
      const thread = process.threadCpuUsage(threadStarted);
      return { us: (thread.user + thread.system) / count, processUs: (used.user + used.system) / count, dropped };
    };
    await cpu(false);
    const off = await cpu(false);
    const on = await cpu(true);
    results.push({ load, offUs: off.us, onUs: on.us, offProcessUs: off.processUs, onProcessUs: on.processUs, dropped: on.dropped });
  }
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rounds = Number(process.argv[2] ?? 3);
  const sink = await startOtlpSink();
  const dir = policyDir(join(fileURLToPath(new URL('../..', import.meta.url)), 'policies'), 100, shopOwn);
  for (let round = 1; round <= rounds; round++) {
    for (const c of await telemetryCost(dir, sink.endpoint)) {
      const line = `round ${round} ${c.load}: event loop ${c.offUs.toFixed(1)} -> ${c.onUs.toFixed(1)} µs, process ${c.offProcessUs.toFixed(1)} -> ${c.onProcessUs.toFixed(1)} µs, dropped ${c.dropped}`;
      process.stdout.write(`${line}\n`);
    }
  }
  await sink.close();
}
