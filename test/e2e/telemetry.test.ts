/**
 * Telemetry through the real server process to a local OTLP/HTTP receiver that decodes the
 * protobuf a collector gets (test/support/otlp-receiver.ts): a Check's span in its caller's
 * trace, its decision record as a log record with the line's decisionId and traceId, and with
 * workers each record exported once.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { checkRequest, frontend, GatehouseClient, headerValue, statusCode } from '../support/check-client.js';
import { OtlpReceiver } from '../support/otlp-receiver.js';
import { cleanup, scratchDir, startGatehouse, waitFor, type ServerProcess } from '../support/server-process.js';

const receivers: OtlpReceiver[] = [];
const clients: GatehouseClient[] = [];
afterAll(async () => {
  for (const client of clients) client.close();
  await cleanup();
  await Promise.all(receivers.map((receiver) => receiver.close()));
});

async function receiver(): Promise<OtlpReceiver> {
  const started = await OtlpReceiver.start();
  receivers.push(started);
  return started;
}

/** `otlp`: more keys of telemetry.otlp, as YAML lines indented under it. */
async function gatehouseExportingTo(collector: OtlpReceiver, options: { workers?: number; config?: string; otlp?: string } = {}): Promise<{ server: ServerProcess; client: GatehouseClient }> {
  const server = await startGatehouse({
    configYaml: `${options.config ?? ''}telemetry:\n  serviceName: gatehouse-e2e\n  otlp:\n    endpoint: "${collector.endpoint}"\n${options.otlp ?? ''}`,
    workers: options.workers,
    readyTimeoutMs: 20_000,
  });
  const client = new GatehouseClient(server.grpcTarget);
  clients.push(client);
  return { server, client };
}

const callerTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
const callerSpan = '00f067aa0ba902b7';
const traceparent = (flags = '01'): string => `00-${callerTrace}-${callerSpan}-${flags}`;

const issuer = 'https://kubernetes.default.svc.cluster.local';

/** A jwksFile issuer's config and a signed service-account token for shop/frontend. */
async function tokenIssuer(): Promise<{ config: string; token: string }> {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwksFile = join(await scratchDir('telemetry'), 'jwks.json');
  await writeFile(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] }));
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ 'kubernetes.io': { namespace: 'shop', serviceaccount: { name: 'frontend', uid: 'uid-frontend' } } })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer(issuer)
    .setSubject('system:serviceaccount:shop:frontend')
    .setAudience('gatehouse')
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(privateKey);
  return { config: `identity:\n  jwt:\n    - issuer: "${issuer}"\n      kind: kubernetes\n      audiences: ["gatehouse"]\n      jwksFile: "${jwksFile}"\n`, token };
}

describe('one process', () => {
  let collector: OtlpReceiver;
  let server: ServerProcess;
  let client: GatehouseClient;
  let token: string;
  beforeAll(async () => {
    collector = await receiver();
    const tokens = await tokenIssuer();
    token = tokens.token;
    process.env.POD_NAME = 'gatehouse-7d9f-abcde';
    process.env.POD_NAMESPACE = 'gatehouse';
    try {
      ({ server, client } = await gatehouseExportingTo(collector, { config: tokens.config }));
    } finally {
      delete process.env.POD_NAME;
      delete process.env.POD_NAMESPACE;
    }
  });

  async function decided(request: Record<string, unknown>): Promise<{ decisionId: string; line: Record<string, unknown>; status: number }> {
    const response = await client.check(request);
    const decisionId = headerValue(response, 'x-gatehouse-decision-id')!;
    const line = await waitFor('the decision line', () => server.decisions.find((d) => d.decisionId === decisionId), 5000);
    return { decisionId, line, status: statusCode(response) };
  }

  test('a Check with a traceparent: its span is in that trace under the caller\'s span, and its log record has the line\'s decisionId, traceId and spanId', async () => {
    const { decisionId, line, status } = await decided(
      checkRequest({ principal: frontend, method: 'GET', path: '/api/orders/17', headers: { traceparent: traceparent(), tracestate: 'vendor=x' } }),
    );
    expect(status).toBe(0);
    const span = await waitFor('the span', () => collector.spans.find((s) => s.attributes['gatehouse.decision_id'] === decisionId), 10_000, 100);
    expect(span).toMatchObject({ name: 'gatehouse.check', kind: 2, traceId: callerTrace, parentSpanId: callerSpan, traceState: 'vendor=x' });
    expect(span.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(span.spanId).not.toBe(callerSpan);
    expect(span.attributes).toMatchObject({
      'gatehouse.principal': `Workload::"${frontend}"`,
      'gatehouse.action': 'GET',
      'gatehouse.resource': 'orders.shop',
      'gatehouse.decision': 'allow',
      'gatehouse.reason': '',
      'gatehouse.policy_version': line.policyVersion as string,
      'gatehouse.cache_hit': false,
    });
    expect(span.resource).toMatchObject({ 'service.name': 'gatehouse-e2e', 'k8s.pod.name': 'gatehouse-7d9f-abcde', 'k8s.namespace.name': 'gatehouse' });
    // Cedar ran (a first request): its own span, a child of the Check's.
    const cedar = await waitFor('the Cedar span', () => collector.spans.find((s) => s.name === 'gatehouse.evaluate_policies' && s.parentSpanId === span.spanId), 10_000, 100);
    expect(cedar.traceId).toBe(callerTrace);
    expect(cedar.startTimeUnixNano >= span.startTimeUnixNano && cedar.endTimeUnixNano <= span.endTimeUnixNano).toBe(true);

    expect(line).toMatchObject({ traceId: callerTrace, spanId: span.spanId });
    const record = await waitFor('the log record', () => collector.logs.find((r) => r.attributes.decisionId === decisionId), 10_000, 100);
    expect(record).toMatchObject({ traceId: callerTrace, spanId: span.spanId, severityNumber: 9, severityText: 'INFO' });
    // Every field of the line, the same values.
    expect(record.attributes).toEqual(line);
    expect(record.resource).toMatchObject({ 'service.name': 'gatehouse-e2e', 'service.instance.id': span.resource['service.instance.id'] });
    expect(collector.problems).toEqual([]);
  });

  test('the same request again is a cache hit: no Cedar span; a deny is a WARN record', async () => {
    const request = (): Record<string, unknown> => checkRequest({ principal: frontend, method: 'DELETE', path: '/api/orders/9', headers: { traceparent: traceparent() } });
    await decided(request());
    const { decisionId, status } = await decided(request());
    expect(status).toBe(7);
    const span = await waitFor('the span', () => collector.spans.find((s) => s.attributes['gatehouse.decision_id'] === decisionId), 10_000, 100);
    expect(span.attributes).toMatchObject({ 'gatehouse.decision': 'deny', 'gatehouse.reason': 'policy_denied', 'gatehouse.cache_hit': true });
    const record = await waitFor('the log record', () => collector.logs.find((r) => r.attributes.decisionId === decisionId), 10_000, 100);
    expect(record).toMatchObject({ severityNumber: 13, severityText: 'WARN' });
    expect(collector.spans.filter((s) => s.parentSpanId === span.spanId)).toEqual([]);
  });

  test('a token\'s signature check is a child span; the same token again is verified already, and has none', async () => {
    const request = (): Record<string, unknown> => checkRequest({ token, method: 'GET', path: '/api/orders/5', headers: { traceparent: traceparent() } });
    const first = await decided(request());
    expect(first.status).toBe(0);
    expect(first.line.principal).toBe(`Workload::"${frontend}"`);
    const span = await waitFor('the span', () => collector.spans.find((s) => s.attributes['gatehouse.decision_id'] === first.decisionId), 10_000, 100);
    const verify = await waitFor('the verification span', () => collector.spans.find((s) => s.name === 'gatehouse.verify_token' && s.parentSpanId === span.spanId), 10_000, 100);
    expect(verify.traceId).toBe(callerTrace);
    const again = await decided(request());
    const second = await waitFor('the second span', () => collector.spans.find((s) => s.attributes['gatehouse.decision_id'] === again.decisionId), 10_000, 100);
    expect(collector.spans.filter((s) => s.parentSpanId === second.spanId && s.name === 'gatehouse.verify_token')).toEqual([]);
  });

  test('without a traceparent a Check starts its own trace, and the line names it', async () => {
    const { decisionId, line } = await decided(checkRequest({ principal: frontend, method: 'GET', path: '/api/orders/2' }));
    const span = await waitFor('the span', () => collector.spans.find((s) => s.attributes['gatehouse.decision_id'] === decisionId), 10_000, 100);
    expect(span.parentSpanId).toBe('');
    expect(span.traceId).not.toBe(callerTrace);
    expect(line).toMatchObject({ traceId: span.traceId, spanId: span.spanId });
  });

  test('a caller\'s unsampled trace is not recorded (parent-based sampling), yet the line and the log record still join it', async () => {
    const { decisionId, line } = await decided(checkRequest({ principal: frontend, method: 'GET', path: '/api/orders/3', headers: { traceparent: traceparent('00') } }));
    expect(line.traceId).toBe(callerTrace);
    const record = await waitFor('the log record', () => collector.logs.find((r) => r.attributes.decisionId === decisionId), 10_000, 100);
    expect(record).toMatchObject({ traceId: callerTrace, spanId: line.spanId });
    expect(collector.spans.some((s) => s.attributes['gatehouse.decision_id'] === decisionId || s.spanId === line.spanId)).toBe(false);
  });

  test('a malformed traceparent is ignored: a new trace, the Check answered as ever', async () => {
    const { status, line } = await decided(checkRequest({ principal: frontend, method: 'GET', path: '/api/orders/4', headers: { traceparent: '00-zz-not-a-trace' } }));
    expect(status).toBe(0);
    expect(line.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(line.traceId).not.toBe('0'.repeat(32));
  });
});

/** The open review finding: with parent-based sampling the caller's flag alone decides whether a span is kept. */
test('telemetry.otlp.sampler traceidratio: a caller\'s sampled flag neither forces a span nor suppresses one; the ratio by trace id decides', async () => {
  const collector = await receiver();
  const { server, client } = await gatehouseExportingTo(collector, { otlp: '    sampler: traceidratio\n    sampleRatio: 0.5\n' });
  // The SDK's ratio sampler keeps a trace when its id's 32-bit words, XORed, fall below ratio × 2³².
  const kept = '00000000000000000000000000000001';
  const notKept = '00000000000000000000000080000001';
  const check = async (traceId: string, flags: string): Promise<string> => {
    const response = await client.check(checkRequest({ principal: frontend, method: 'GET', path: '/api/orders/8', headers: { traceparent: `00-${traceId}-${callerSpan}-${flags}` } }));
    return headerValue(response, 'x-gatehouse-decision-id')!;
  };
  const unsampledCaller = await check(kept, '00');
  const sampledCaller = await check(notKept, '01');
  const span = await waitFor('the span of the unsampled caller\'s Check', () => collector.spans.find((s) => s.attributes['gatehouse.decision_id'] === unsampledCaller), 10_000, 100);
  expect(span).toMatchObject({ traceId: kept, parentSpanId: callerSpan });
  const line = await waitFor('the sampled caller\'s line', () => server.decisions.find((d) => d.decisionId === sampledCaller), 5000);
  expect(line.traceId).toBe(notKept);
  await waitFor('its log record', () => collector.logs.find((r) => r.attributes.decisionId === sampledCaller), 10_000, 100);
  // Spans and records leave in the same batch interval; wait past one more before saying none came.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  expect(collector.spans.filter((s) => s.traceId === notKept)).toEqual([]);
  expect(collector.problems).toEqual([]);
});

test('with two workers each decision record is exported exactly once, and each worker exports its own spans', async () => {
  const collector = await receiver();
  const { server } = await gatehouseExportingTo(collector, { workers: 2 });
  const count = 200;
  const ids = new Set<string>();
  // A channel per client (no shared subchannel pool), so that both workers take connections
  // (node:cluster hands out connections, round-robin).
  const all = Array.from({ length: 6 }, () => new GatehouseClient(server.grpcTarget, { 'grpc.use_local_subchannel_pool': 1 }));
  clients.push(...all);
  await Promise.all(
    all.map(async (c, n) => {
      for (let i = n; i < count; i += all.length) {
        const response = await c.check(checkRequest({ principal: frontend, method: 'GET', path: `/api/orders/${i}`, headers: { traceparent: traceparent() } }));
        ids.add(headerValue(response, 'x-gatehouse-decision-id')!);
      }
    }),
  );
  expect(ids.size).toBe(count);
  await waitFor('every record', () => (collector.logs.length >= count ? true : undefined), 15_000, 100);
  await waitFor('every span', () => (collector.spans.filter((s) => s.name === 'gatehouse.check').length >= count ? true : undefined), 15_000, 100);
  // A second export would come within the batch delay (1 s); wait past it.
  await new Promise((resolve) => setTimeout(resolve, 2500));
  const exported = collector.logs.map((r) => r.attributes.decisionId as string);
  expect(exported.length).toBe(count);
  expect(new Set(exported)).toEqual(ids);
  const lines = await waitFor('every line', () => (server.decisions.length >= count ? server.decisions : undefined), 5000);
  expect(new Set(lines.map((l) => l.decisionId))).toEqual(ids);
  const instances = new Set(collector.spans.map((s) => s.resource['service.instance.id']));
  const recordInstances = new Set(collector.logs.map((r) => r.resource['service.instance.id']));
  expect(instances.size).toBe(2);
  expect(recordInstances).toEqual(instances);
  expect(collector.problems).toEqual([]);
});
