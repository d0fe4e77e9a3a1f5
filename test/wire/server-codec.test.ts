/**
 * The server's Check codec (`authorizationServerService`) skips proto-loader's conversions: the
 * handler gets protobufjs's decoded CheckRequest, and its CheckResponse is encoded as it is. Both
 * must mean exactly what proto-loader's codec (`authorizationService`, the reference that clients
 * and the floor use) made of the same message: the same bytes out, the same request facts in.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requestFacts, type CheckRequestMessage } from '../../src/core/decode.js';
import type { Decision, Subject } from '../../src/core/decision.js';
import type { Identity } from '../../src/core/identity.js';
import { toCheckResponse, type ResponseOptions } from '../../src/core/respond.js';
import { authorizationServerService, authorizationService, encodeCheckRequest } from '../../src/wire/protos.js';
import { someEvaluated } from '../support/evaluated.js';
import { spiffeId } from '../support/expect-ok.js';
import { vectorDir } from '../support/server-process.js';

const reference = authorizationService['Check']!;
const server = authorizationServerService['Check']!;

const frontendId = 'spiffe://cluster.local/ns/shop/sa/frontend';
const builderId = 'spiffe://cluster.local/ns/ci/sa/builder';
const frontend: Identity = { kind: 'workload', spiffeId: spiffeId(frontendId), class: 'service', authn: 'mtls' };
const builder = { kind: 'workload', spiffeId: spiffeId(builderId), class: 'build', authn: 'mtls' } as const;
const alice: Identity = { kind: 'user', issuer: 'https://idp', subject: 'alice', name: 'alice', groups: ['shop'], delegation: { actor: builder, actors: [builderId], depth: 1 } };
const subject: Subject = { action: 'GET', resource: 'orders.shop', resourceNamespace: 'shop', path: '/api/orders/42' };
const evaluated = someEvaluated;
const decisionId = '01J9Z6X4QK3T7N2V5B8C0D1E2F';
const assertion = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';

const allow = (identity: Identity, policies: string[]): Decision => ({ kind: 'allow', identity, subject, policies, errors: [], version: 'v', evaluated });
const deny = (status: 'forbidden' | 'unauthenticated', code: 'policy_denied' | 'token_expired' | 'bad_path', dryRun: boolean, identity?: Identity): Decision =>
  ({ kind: 'deny', status, code, reason: 'r', identity, subject, policies: ['forbid-delete'], errors: [], dryRun, version: 'v', evaluated });

interface ResponseCase {
  readonly name: string;
  readonly decision: Decision;
  readonly assertion?: string;
  /** What Envoy reads, decoded by the reference codec: the gRPC code and the HTTP status by name. */
  readonly grpcCode: number;
  readonly httpStatus?: 'Forbidden' | 'Unauthorized' | 'ServiceUnavailable';
}

const responseCases: readonly ResponseCase[] = [
  { name: 'allow, a workload, two policies', decision: allow(frontend, ['allow-frontend', 'allow-reads']), grpcCode: 0 },
  { name: 'allow, a person with an acting workload and a signed assertion', decision: allow(alice, ['allow-ci']), assertion, grpcCode: 0 },
  { name: 'allow, anonymous, no policies', decision: allow({ kind: 'anonymous' }, []), grpcCode: 0 },
  { name: 'dry-run deny', decision: deny('forbidden', 'policy_denied', true, frontend), grpcCode: 0 },
  { name: 'deny by policy', decision: deny('forbidden', 'policy_denied', false, frontend), grpcCode: 7, httpStatus: 'Forbidden' },
  { name: 'refused request', decision: deny('forbidden', 'bad_path', false), grpcCode: 7, httpStatus: 'Forbidden' },
  { name: 'bad credential', decision: deny('unauthenticated', 'token_expired', false), grpcCode: 16, httpStatus: 'Unauthorized' },
  { name: 'unavailable', decision: { kind: 'unavailable', code: 'no_policy_set', reason: 'r', subject }, grpcCode: 14, httpStatus: 'ServiceUnavailable' },
];

const optionSets: readonly ResponseOptions[] = [
  { principalHeader: 'x-gatehouse-principal', decisionHeader: 'x-gatehouse-decision-id', removeCredentials: true },
  { principalHeader: 'x-user', decisionHeader: 'x-decision', removeCredentials: false },
];

interface DecodedResponse {
  status: { code?: number };
  ok_response?: { headers: { append_action: string }[]; headers_to_remove: string[] };
  denied_response?: { status: { code: string }; headers: { append_action: string }[] };
  error_response?: { status: { code: string }; headers: { append_action: string }[] };
  dynamic_metadata?: { fields: Record<string, unknown> };
}

describe('the server encodes a CheckResponse as proto-loader did', () => {
  const cases = responseCases.flatMap((c) => optionSets.map((options) => [`${c.name}, remove credentials ${options.removeCredentials}`, c, options] as const));

  test.each(cases)('%s', (_name, c, options) => {
    const response = toCheckResponse(c.decision, decisionId, options, c.assertion);
    const fast: Buffer = server.responseSerialize(response);
    const old: Buffer = reference.responseSerialize(response);
    expect(fast).toEqual(old);
    const decoded = reference.responseDeserialize(fast) as DecodedResponse;
    expect(decoded).toEqual(reference.responseDeserialize(old));

    // The enum numbers respond.ts writes must be the names Envoy acts on.
    expect(decoded.status.code ?? 0).toBe(c.grpcCode);
    const refusal = decoded.denied_response ?? decoded.error_response;
    expect(refusal?.status.code).toBe(c.httpStatus);
    const headers = (decoded.ok_response ?? refusal)?.headers ?? [];
    expect(headers.length).toBeGreaterThan(0);
    expect(headers.every((h) => h.append_action === 'OVERWRITE_IF_EXISTS_OR_ADD')).toBe(true);
    expect(decoded.dynamic_metadata?.fields.decisionId).toEqual({ string_value: decisionId, kind: 'string_value' });
  });

  test('the acting workload, the assertion and the removed headers reach the wire', () => {
    const response = toCheckResponse(allow(alice, ['allow-ci']), decisionId, optionSets[0]!, assertion);
    const decoded = reference.responseDeserialize(server.responseSerialize(response)) as {
      ok_response: { headers: { header: { key: string; value: string } }[]; headers_to_remove: string[] };
    };
    const sent = Object.fromEntries(decoded.ok_response.headers.map(({ header }) => [header.key, header.value]));
    expect(sent).toMatchObject({ 'x-gatehouse-actor': builderId, 'x-gatehouse-assertion': assertion, 'x-gatehouse-principal': 'alice' });
    expect(decoded.ok_response.headers_to_remove).toEqual(['x-gatehouse-dry-run', 'authorization']);
  });
});

interface RequestCase {
  readonly name: string;
  readonly bytes: Buffer;
}

const index = JSON.parse(readFileSync(join(vectorDir, 'index.json'), 'utf8')) as { requests: Record<string, { file: string }> };
const vectors: RequestCase[] = Object.entries(index.requests).map(([name, v]) => ({ name: `Envoy vector ${name}`, bytes: readFileSync(join(vectorDir, v.file)) }));

const http = (fields: Record<string, unknown>) => ({ attributes: { request: { http: fields } } });
const built = (name: string, message: Record<string, unknown>): RequestCase => ({ name, bytes: Buffer.from(encodeCheckRequest(message)) });
const manyHeaders = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`x-h${i}`, 'v'.repeat(i * 10)]));

const generated: RequestCase[] = [
  built('empty', {}),
  built('no http attributes', { attributes: { context_extensions: { service: 'orders.shop' } } }),
  built('headers over the count and byte limits', http({ method: 'GET', path: '/p', headers: manyHeaders })),
  built('header_map with raw bytes, repeats and invalid UTF-8', http({
    header_map: { headers: [
      { key: ':path', raw_value: Buffer.from('/api/orders/1') },
      { key: 'X-Tenant', raw_value: Buffer.from('acme') },
      { key: 'x-tenant', value: 'other' },
      { key: 'x-bin', raw_value: Buffer.from([0xff, 0x00, 0x80]) },
    ] },
  })),
  built('headers and header_map together, CR in a value', http({ headers: { ':authority': 'orders', 'x-a': 'a\rb' }, header_map: { headers: [{ key: 'x-b', value: 'b' }] } })),
  built('a value Envoy joined from repeats', http({ headers: { 'x-forwarded-for': '1.1.1.1, 1.1.1.1', 'x-other': 'a,b' } })),
  built('peers of every address kind, TLS, extensions, metadata and the fields gatehouse does not read', {
    attributes: {
      source: { address: { pipe: { path: '/run/envoy.sock', mode: 384 } }, principal: frontendId, certificate: '-----BEGIN', labels: { app: 'shop' }, service: 'frontend' },
      destination: { address: { socket_address: { address: '10.0.0.9', port_value: 8443 } }, principal: 'spiffe://cluster.local/ns/shop/sa/orders' },
      request: {
        time: { seconds: '1795000000', nanos: 5 },
        http: { id: '9', method: 'POST', path: '/api?q=1', host: 'orders', scheme: 'https', protocol: 'HTTP/2', size: '9223372036854775807', query: 'q=1', fragment: 'f', body: '{}', raw_body: Buffer.from('{}') },
      },
      context_extensions: { service: 'orders.shop', namespace: 'shop' },
      metadata_context: { filter_metadata: { 'envoy.filters.http.jwt_authn': { fields: { sub: { string_value: 'alice' } } } } },
      tls_session: { sni: 'orders.shop' },
    },
  }),
];

describe('the server decodes a CheckRequest into the same request facts as proto-loader did', () => {
  // Tight limits, so that the limit checks are compared too; and the defaults.
  const limitSets = [{ maxHeaders: 200, maxHeaderBytes: 65536 }, { maxHeaders: 6, maxHeaderBytes: 300 }];

  test.each([...vectors, ...generated].map((c) => [c.name, c] as const))('%s', (_name, c) => {
    for (const limits of limitSets) {
      const fast = requestFacts(server.requestDeserialize(c.bytes) as CheckRequestMessage, limits);
      const old = requestFacts(reference.requestDeserialize(c.bytes) as CheckRequestMessage, limits);
      expect(fast).toEqual(old);
    }
  });

  test('mutated vectors: whatever proto-loader decoded, the server decodes to the same facts', () => {
    let seed = 12345;
    const random = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const decode = (codec: typeof server, bytes: Buffer): { ok: CheckRequestMessage } | { failed: true } => {
      try {
        return { ok: codec.requestDeserialize(bytes) as CheckRequestMessage };
      } catch {
        return { failed: true };
      }
    };
    let compared = 0;
    for (let i = 0; i < 8_000; i++) {
      const bytes = Buffer.from(vectors[Math.floor(random() * vectors.length)]!.bytes);
      for (let j = 1 + Math.floor(random() * 4); j > 0; j--) {
        const at = Math.floor(random() * bytes.length);
        const op = random();
        if (op < 0.5) bytes[at] = Math.floor(random() * 256);
        else if (op < 0.75) bytes[at] = bytes[at]! ^ (1 << Math.floor(random() * 8));
        else bytes[at] = [0, 1, 2, 0x7f, 0x80, 0xff, 0x0a, 0x12, 0x1a, 0x22][Math.floor(random() * 10)]!;
      }
      const old = decode(reference, bytes);
      if (!('ok' in old)) continue;
      // A message proto-loader could read, the server reads too, and makes the same facts of it.
      const fast = decode(server, bytes);
      expect('ok' in fast).toBe(true);
      if (!('ok' in fast)) continue;
      for (const limits of limitSets) expect(requestFacts(fast.ok, limits)).toEqual(requestFacts(old.ok, limits));
      compared += 1;
    }
    expect(compared).toBeGreaterThan(4_000);
  });

  test('the cases reach the paths they are named for', () => {
    const facts = (name: string, limits = limitSets[1]!) => {
      const c = generated.find((g) => g.name.startsWith(name))!;
      return requestFacts(server.requestDeserialize(c.bytes) as CheckRequestMessage, limits);
    };
    expect(facts('headers over').problems).toEqual(['more than 6 headers']);
    expect(facts('header_map').problems).toEqual(['header "x-bin" is not valid UTF-8']);
    expect(facts('header_map').headers.get('x-tenant')).toBe('acme,other');
    expect(facts('headers and header_map').problems).toEqual(['header "x-a" contains CR, LF or NUL']);
    expect(facts('peers').source).toEqual({ address: '', port: 0, principal: frontendId, certificate: '-----BEGIN' });
    expect(facts('peers').destination.port).toBe(8443);
    expect(facts('no http').problems).toEqual(['the request has no HTTP attributes']);
  });
});
