/**
 * The decision cache keys a repeated request without building it (src/policy/request-key.ts).
 * Its one duty: two inputs with the same key build the same Cedar request, entities included, as
 * the cache keys it. Checked over generated inputs whose every part varies within small domains
 * (so keys collide often), under read sets that each leave out some of what could be read.
 */
import type { Delegation, Identity, WorkloadClass } from '../../src/core/identity.js';
import type { RequestSubject } from '../../src/core/parse-request.js';
import type { RequestFacts } from '../../src/core/request-facts.js';
import { buildCedarRequest } from '../../src/policy/entities.js';
import type { PolicyReads } from '../../src/policy/reads.js';
import { keyable, requestKey } from '../../src/policy/request-key.js';
import { spiffeId } from '../support/expect-ok.js';
import { rng } from './generated-estate.js';

const contextNames = ['path', 'method', 'host', 'scheme', 'authn', 'actor', 'delegation'];

function readSets(): PolicyReads[] {
  const sets: PolicyReads[] = [];
  for (let mask = 0; mask < 1 << contextNames.length; mask += 5) {
    for (let other = 0; other < 16; other++) {
      sets.push({
        context: new Set(contextNames.filter((_, i) => mask & (1 << i))),
        headers: other & 4 ? new Set(['x-tenant', 'authorization', 'cookie', ':path', '__proto__']) : new Set(),
        query: other & 8 ? new Set(['tenant', 'q']) : new Set(),
        sourceIp: (other & 1) === 1,
        sourcePort: (other & 2) === 2,
        namespaceTags: false,
        pathTests: 'opaque',
      });
    }
  }
  return sets;
}

function pick<T>(random: () => number, values: readonly T[]): T {
  return values[Math.floor(random() * values.length)]!;
}

const workloadIds = ['spiffe://cluster.local/ns/shop/sa/frontend', 'spiffe://cluster.local/ns/shop/sa/cart', 'spiffe://partner.example/ns/shop/sa/frontend', 'spiffe://cluster.local/build/runner'];
const classes: WorkloadClass[] = ['service', 'build', 'agent'];

function workloadIdentity(random: () => number): Extract<Identity, { kind: 'workload' }> {
  const authn = pick(random, ['mtls', 'jwt'] as const);
  return {
    kind: 'workload',
    spiffeId: spiffeId(pick(random, workloadIds)),
    class: pick(random, classes),
    authn,
    ...(authn === 'jwt' ? { issuer: pick(random, ['https://k8s.a', 'https://k8s.b', undefined]) } : {}),
  };
}

function delegation(random: () => number): Delegation | undefined {
  if (random() < 0.4) return undefined;
  const actors = pick(random, [['spiffe://cluster.local/ns/agents/sa/assistant'], ['spiffe://cluster.local/ns/agents/sa/assistant', 'bot'], ['bot']]);
  return { actor: random() < 0.7 ? workloadIdentity(random) : undefined, actors, depth: pick(random, [1, 2]) };
}

function identity(random: () => number): Identity {
  const kind = pick(random, ['workload', 'user', 'anonymous'] as const);
  if (kind === 'anonymous') return { kind };
  const acting = delegation(random);
  if (kind === 'workload') return { ...workloadIdentity(random), ...(acting ? { delegation: acting } : {}) };
  const subject = pick(random, ['alice', 'bob']);
  return {
    kind: 'user',
    issuer: pick(random, ['https://login.a', 'https://login.b']),
    subject,
    name: pick(random, [subject, `corp:${subject}`]),
    groups: pick(random, [[], ['staff'], ['staff', 'oncall'], ['oncall', 'staff']]),
    ...(acting ? { delegation: acting } : {}),
  };
}

const headerSets: [string, string][][] = [
  [],
  [['x-tenant', 'a']],
  [['x-tenant', 'b'], ['authorization', 'Bearer secret']],
  [['authorization', 'Bearer other']],
  [['__proto__', 'x'], ['x-other', '1']],
];

function input(random: () => number): { identity: Identity; subject: RequestSubject; facts: RequestFacts; path: string } {
  const namespace = pick(random, ['shop', 'billing', undefined]);
  // Independent of the name, although the parse step derives one from the other: the key must not rely on it.
  const name = pick(random, ['orders', 'orders.shop', 'ledger.billing']);
  const path = pick(random, ['/api/orders', '/api/orders/1', '/admin']);
  const subject: RequestSubject = {
    requestId: '',
    method: pick(random, ['GET', 'POST']),
    path,
    query: pick(random, ['', 'tenant=a', 'tenant=%61', 'tenant=a&tenant=b', 'q=1&tenant=a', 'other=1']),
    service: { name, namespace, from: 'route' },
    destination: undefined,
    trustedNamespace: namespace,
  };
  const facts: RequestFacts = {
    requestId: '',
    streamId: '',
    method: subject.method,
    rawPath: path,
    host: pick(random, ['orders.shop', 'Orders.Shop', 'ledger.billing']),
    scheme: pick(random, ['http', 'https']),
    protocol: 'HTTP/1.1',
    headers: new Map(pick(random, headerSets)),
    repeatedHeaders: new Set(),
    source: { address: pick(random, ['10.1.2.3', '::ffff:10.1.2.3', 'fe80::1%eth0', '2001:db8::1', 'garbage']), port: pick(random, [0, 40000, 40001]), principal: '', certificate: '' },
    destination: { address: '', port: 0, principal: '', certificate: '' },
    contextExtensions: new Map(),
    sni: '',
    problems: [],
  };
  return { identity: identity(random), subject, facts, path };
}

/** The request as the cache keyed it before: built, as a set without path tests sees it. */
function keyedJson(reads: PolicyReads, inputs: ReturnType<typeof input>): string {
  return JSON.stringify(buildCedarRequest(inputs.identity, inputs.subject, inputs.facts, { reads }));
}

test.each([
  ['each input its own identity', false],
  // A caller's identity is one frozen object across its requests, and its part of the key is kept
  // per object and read set: alternating read sets and identities must never mix them up.
  ['identities shared and frozen, as remembered ones are', true],
])('inputs with the same key build the same Cedar request, under every read set (%s)', (_name, shared) => {
  const random = rng(20261201);
  const pool = Array.from({ length: 40 }, () => Object.freeze(identity(random)));
  const inputs = Array.from({ length: 1000 }, () => {
    const one = input(random);
    return shared ? { ...one, identity: pick(random, pool) } : one;
  });
  let collisions = 0;
  for (const reads of readSets()) {
    expect(keyable(reads)).toBe(true);
    const byKey = new Map<string, string>();
    for (const one of inputs) {
      // No path tests (the read sets' path is 'opaque'): the key takes the path as policies see it.
      const key = requestKey(one.identity, one.subject, one.facts, reads, undefined);
      const json = keyedJson(reads, one);
      const seen = byKey.get(key);
      if (seen === undefined) byKey.set(key, json);
      else {
        collisions += 1;
        expect({ key, json }).toEqual({ key, json: seen });
      }
    }
  }
  // The check means something only if keys do collide, and across every read set.
  expect(collisions).toBeGreaterThan(readSets().length * 40);
});

test('a key tells apart the values a path test result stands for only through that result', () => {
  const random = rng(7);
  const one = input(random);
  const reads = readSets()[0]!;
  expect(requestKey(one.identity, one.subject, one.facts, reads, '10')).not.toBe(requestKey(one.identity, one.subject, one.facts, reads, '01'));
});

test('sets that read every header or query parameter, or namespace labels, are keyed on the built request', () => {
  const base = readSets()[0]!;
  expect(keyable({ ...base, headers: new Set(['x-tenant']), query: new Set(['q']) })).toBe(true);
  expect(keyable({ ...base, headers: 'all' })).toBe(false);
  expect(keyable({ ...base, query: 'all' })).toBe(false);
  expect(keyable({ ...base, namespaceTags: true })).toBe(false);
});

test('a credential header never becomes part of a key', () => {
  const random = rng(11);
  const one = input(random);
  const reads = { ...readSets()[0]!, headers: new Set(['authorization', 'x-tenant']) };
  const facts = { ...one.facts, headers: new Map([['authorization', 'Bearer secret-token'], ['x-tenant', 'a']]) };
  const key = requestKey(one.identity, one.subject, facts, reads, undefined);
  expect(key).toContain('"x-tenant":"a"');
  expect(key).not.toContain('secret-token');
});

test('an identity that is not frozen is keyed as it is now, not as it was', () => {
  const reads = readSets()[0]!;
  const one = input(rng(3));
  const who: { -readonly [K in keyof Extract<Identity, { kind: 'workload' }>]: Extract<Identity, { kind: 'workload' }>[K] } = {
    kind: 'workload',
    spiffeId: spiffeId('spiffe://cluster.local/ns/shop/sa/frontend'),
    class: 'service',
    authn: 'mtls',
  };
  const before = requestKey(who, one.subject, one.facts, reads, undefined);
  who.class = 'agent';
  expect(requestKey(who, one.subject, one.facts, reads, undefined)).not.toBe(before);
  expect(requestKey(who, one.subject, one.facts, reads, undefined)).toContain('"agent"');
});
