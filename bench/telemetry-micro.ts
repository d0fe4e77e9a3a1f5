/**
 * What telemetry costs a Check, in CPU time: the Check pipeline in-process with its record step
 * (a decision log without a destination), telemetry off and then on to the bench's OTLP sink,
 * every Check in a sampled caller trace. CPU time (process.cpuUsage) rather than wall time, and
 * with the exports finished before it is read, so the batching, encoding and sending of the
 * records count too; the sink shares the process, so its reading of the requests counts as well.
 */
import { DecisionLog } from '../src/log/decision-log.js';
import { recordDecision } from '../src/log/record-decision.js';
import { CedarAuthorizer } from '../src/policy/authorizer.js';
import { loadPolicies } from '../src/policy/loader.js';
import { startTelemetry } from '../src/telemetry/telemetry.js';
import { frontend, shopWorkload } from './estate.js';
import { checkMessage, inProcessPipeline } from './in-process.js';

const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const message = (path: string, principal = frontend) => checkMessage(path, principal, { traceparent });

export interface TelemetryCost {
  readonly load: 'repeated' | 'cache miss';
  readonly offUs: number;
  readonly onUs: number;
  /** Records the SDK dropped during the run (a full queue): their cost is then not counted. */
  readonly dropped: number;
}

export async function telemetryCost(dir: string, endpoint: string): Promise<TelemetryCost[]> {
  const loaded = await loadPolicies(dir);
  if (!loaded.ok) throw new Error(`policies in ${dir} do not load`);
  const metrics = { decisions: { inc: () => undefined }, checkDuration: { observe: () => undefined } };
  const loads = [
    { load: 'repeated' as const, messages: [message('/api/orders/42')], count: 20_000 },
    { load: 'cache miss' as const, messages: Array.from({ length: 4000 }, (_, i) => message('/api/orders/42', shopWorkload(i))), count: 4000 },
  ];
  const results: TelemetryCost[] = [];
  for (const { load, messages, count } of loads) {
    const cpu = async (on: boolean): Promise<{ us: number; dropped: number }> => {
      let dropped = 0;
      const telemetry = on
        ? startTelemetry({ serviceName: 'bench', otlp: { endpoint, logs: true, traces: true, sampler: 'parentbased_traceidratio', sampleRatio: 1 } }, { dropped: (_s, n) => (dropped += n), log: () => undefined })
        : undefined;
      // A fresh authorizer per run, so that both runs miss the cache alike.
      const authorizer = new CedarAuthorizer(loaded.engine);
      const pipeline = inProcessPipeline(authorizer, { record: recordDecision(new DecisionLog(undefined), metrics, telemetry?.decisions), tracing: telemetry?.tracing });
      const started = process.cpuUsage();
      for (let i = 0; i < count; i++) {
        await pipeline.run(messages[i % messages.length]!);
        // Lets timers and sockets run, as a server's event loop does between Checks.
        if (i % 64 === 63) await new Promise((resolve) => setImmediate(resolve));
      }
      await telemetry?.shutdown();
      const used = process.cpuUsage(started);
      return { us: (used.user + used.system) / count, dropped };
    };
    await cpu(false);
    const off = await cpu(false);
    const on = await cpu(true);
    results.push({ load, offUs: off.us, onUs: on.us, dropped: on.dropped });
  }
  return results;
}
