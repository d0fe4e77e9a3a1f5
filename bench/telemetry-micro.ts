/**
 * What telemetry costs a Check, in CPU time: the Check pipeline in-process with its record step
 * (a decision log without a destination), telemetry off and then on to the bench's OTLP sink,
 * every Check in a sampled caller trace. CPU time (process.cpuUsage) rather than wall time, and
 * with the exports finished before it is read, so the batching, encoding and sending of the
 * records count too; the sink shares the process, so its reading of the requests counts as well.
 */
import type { CheckRequestMessage } from '../src/core/decode.js';
import { noLifecycle } from '../src/core/decide.js';
import { defaultRequestOptions } from '../src/core/parse-request.js';
import { classifierFromRules } from '../src/identity/classify.js';
import { IdentityResolver } from '../src/identity/resolve.js';
import { DecisionLog } from '../src/log/decision-log.js';
import { recordDecision } from '../src/log/record-decision.js';
import { CheckPipeline } from '../src/pipeline/check-pipeline.js';
import { CedarAuthorizer } from '../src/policy/authorizer.js';
import { loadPolicies } from '../src/policy/loader.js';
import { startTelemetry } from '../src/telemetry/telemetry.js';
import { CheckRequestType, decodeCheckRequest } from '../src/wire/protos.js';
import { framed, frontend, shopWorkload } from './estate.js';

const limits = { maxHeaders: 200, maxHeaderBytes: 65536, maxConcurrentChecks: 1024, decisionTimeoutMs: 180 };
const response = { principalHeader: 'x-gatehouse-principal', decisionHeader: 'x-gatehouse-decision-id', removeCredentials: false };
const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

function message(path: string, principal = frontend): CheckRequestMessage {
  const body = framed({ principal, path, headers: { traceparent } }).subarray(5);
  return CheckRequestType.toObject(decodeCheckRequest(body), { longs: String, enums: String, defaults: false }) as CheckRequestMessage;
}

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
  const resolver = new IdentityResolver({
    mtls: { trustDomains: new Set(['cluster.local']), bundles: new Map(), classify: classifierFromRules([]) },
    trustForwardedClientCert: false,
    tokens: { verify: async () => ({ ok: false, code: 'unknown_issuer', detail: '', authn: 'jwt' }) },
  });
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
        ? startTelemetry({ serviceName: 'bench', otlp: { endpoint, logs: true, traces: true, sampleRatio: 1 } }, { dropped: (_s, n) => (dropped += n), log: () => undefined })
        : undefined;
      // A fresh authorizer per run, so that both runs miss the cache alike.
      const authorizer = new CedarAuthorizer(loaded.engine);
      const pipeline = new CheckPipeline({
        identity: resolver,
        policies: { current: () => authorizer },
        lifecycle: () => noLifecycle,
        mode: { dryRun: false, dryRunNamespaces: new Set<string>() },
        request: defaultRequestOptions,
        response,
        limits,
        record: recordDecision(new DecisionLog(undefined), metrics, telemetry?.decisions),
        tracing: telemetry?.tracing,
      });
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
