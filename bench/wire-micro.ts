/**
 * The gRPC wire's own CPU per Check, in-process: decoding the bench's CheckRequest and encoding
 * the CheckResponse of an allow, through proto-loader's codec (`authorizationService`, as the
 * floor and clients use it) and through the server's (`authorizationServerService`). CPU time
 * (process.cpuUsage) over many iterations, the two codecs interleaved round by round so that a
 * busy neighbour slows both alike: `node dist/bench/wire-micro.js [ROUNDS] [ITERATIONS]`.
 */
import type { Decision } from '../src/core/decision.js';
import { toCheckResponse } from '../src/core/respond.js';
import { SpiffeId } from '../src/core/spiffe-id.js';
import { authorizationServerService, authorizationService } from '../src/wire/protos.js';
import { framed, frontend } from './estate.js';

const rounds = Number(process.argv[2] ?? 3);
const iterations = Number(process.argv[3] ?? 100_000);

const request = framed({ principal: frontend, path: '/api/orders/42' }).subarray(5);
const spiffeId = SpiffeId.parse(frontend);
if (!spiffeId.ok) throw new Error(`${frontend} is not a SPIFFE ID`);
const allow: Decision = {
  kind: 'allow',
  identity: { kind: 'workload', spiffeId: spiffeId.value, class: 'service', authn: 'mtls' },
  subject: { action: 'GET', resource: 'orders.shop', resourceNamespace: 'shop', path: '/api/orders/42' },
  policies: ['allow-frontend-orders'],
  errors: [],
  version: 'v',
  evaluated: () => ({ principal: { type: 'Workload', id: frontend }, action: { type: 'Action', id: 'GET' }, resource: { type: 'Service', id: 'orders.shop' }, context: {}, entities: [] }),
};
const options = { principalHeader: 'x-gatehouse-principal', decisionHeader: 'x-gatehouse-decision-id', removeCredentials: false };
/** Distinct decision ids, as every Check has its own. */
const ids = Array.from({ length: 1024 }, (_, i) => `01J9Z6X4QK3T7N2V5B8C${String(i).padStart(6, '0')}`);

type Codec = { readonly requestDeserialize: (bytes: Buffer) => unknown; readonly responseSerialize: (message: unknown) => Buffer };
const codecs: Record<string, Codec> = { 'proto-loader': authorizationService['Check']!, server: authorizationServerService['Check']! };

/** CPU µs per call of `work` over `iterations` calls. */
function cpuPerCall(work: (i: number) => unknown): number {
  let sink = 0;
  const started = process.cpuUsage();
  for (let i = 0; i < iterations; i++) if (work(i)) sink++;
  const used = process.cpuUsage(started);
  if (sink < 0) throw new Error('unreachable');
  return (used.user + used.system) / iterations;
}

const measures = {
  'decode CheckRequest': (codec: Codec) => cpuPerCall(() => codec.requestDeserialize(request)),
  'encode CheckResponse': (codec: Codec) => {
    const responses = ids.map((id) => toCheckResponse(allow, id, options));
    return cpuPerCall((i) => codec.responseSerialize(responses[i & 1023]));
  },
  'respond + encode': (codec: Codec) => cpuPerCall((i) => codec.responseSerialize(toCheckResponse(allow, ids[i & 1023]!, options))),
};

const results = new Map<string, number[]>();
for (const measure of Object.values(measures)) for (const codec of Object.values(codecs)) measure(codec); // warm-up
for (let round = 0; round < rounds; round++) {
  for (const [name, measure] of Object.entries(measures)) {
    for (const [codecName, codec] of Object.entries(codecs)) {
      const key = `${name}|${codecName}`;
      results.set(key, [...(results.get(key) ?? []), measure(codec)]);
    }
  }
}

const fmt = (us: number) => us.toFixed(2);
console.log(`| CPU µs per call (${iterations} calls, ${rounds} interleaved rounds) | proto-loader | server | server / proto-loader (medians) |`);
console.log('|---|---:|---:|---:|');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const name of Object.keys(measures)) {
  const old = results.get(`${name}|proto-loader`)!;
  const now = results.get(`${name}|server`)!;
  const spread = (xs: number[]) => `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`;
  console.log(`| ${name} | ${spread(old)} | ${spread(now)} | ${Math.round((100 * median(now)) / median(old))}% |`);
}
