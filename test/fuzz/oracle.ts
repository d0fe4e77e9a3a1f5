/**
 * The fuzzers' judge of an allow, written apart from the code under test. It models the shipped
 * example policies (policies/*.cedar) as plain predicates and re-derives who is asking from the
 * request itself: an allow stands only when the identity came from a trusted source (a peer
 * principal of a trusted domain, a trusted XFCC, or one of the tokens the fuzzer signed), some
 * modelled permit holds, no modelled forbid holds, and Cedar's determining policies are exactly
 * permits that the model agrees hold.
 */
import type { Decision } from '../../src/core/decision.js';
import type { Identity } from '../../src/core/identity.js';
import type { RequestFacts } from '../../src/core/request-facts.js';

const td = 'spiffe://cluster.local';
export const workloads = {
  frontend: `${td}/ns/shop/sa/frontend`,
  checkout: `${td}/ns/shop/sa/checkout`,
  orders: `${td}/ns/shop/sa/orders`,
  reconciler: `${td}/ns/ops/sa/reconciler`,
  builder: `${td}/ns/ci/sa/builder`,
  prometheus: `${td}/ns/monitoring/sa/prometheus`,
  /** A build job that runs in the monitoring namespace: `class: build` by the fuzz config's path rule. */
  monitoringBuild: `${td}/ns/monitoring/sa/build-exporter`,
} as const;

/** The class rules of the fuzz config (`identity.classes`), as the model applies them. */
export const fuzzClassRules = [
  { class: 'automation', namespace: 'ops' },
  { class: 'build', namespace: 'ci' },
  { class: 'build', pathPattern: '/ns/*/sa/build-*' },
] as const;

/** What the model reads about one request. */
export interface ModelRequest {
  /** 'anonymous', `Workload::ID` or `User::SUBJECT`. */
  readonly principal: { kind: 'anonymous' } | { kind: 'workload'; id: string; namespace: string | undefined; cls: string } | { kind: 'user'; subject: string; groups: readonly string[] };
  readonly method: string;
  readonly resource: string;
  readonly resourceNamespace: string | undefined;
  readonly path: string;
  readonly sourceAddress: string;
  readonly headers: ReadonlyMap<string, string>;
  /** The workload acting for the principal: a person's token carried by an mTLS peer. */
  readonly actor: { id: string; cls: string } | undefined;
  /** The whole acting chain, current actor first. */
  readonly delegation: { depth: number; actors: readonly string[] } | undefined;
}

const read = new Set(['GET', 'HEAD', 'OPTIONS']);
const write = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Cedar `like`: `*` matches any run of characters, everything else literally. */
function like(value: string, pattern: string): boolean {
  const source = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${source}$`, 's').test(value);
}

const is = (r: ModelRequest, id: string): boolean => r.principal.kind === 'workload' && r.principal.id === id;
const inGroup = (r: ModelRequest, group: string): boolean => r.principal.kind === 'user' && r.principal.groups.includes(group);
const health = (r: ModelRequest): boolean => r.path === '/healthz' || r.path === '/readyz';

function inPodNetwork(address: string): boolean {
  const mapped = /^::ffff:(.*)$/i.exec(address)?.[1] ?? address;
  const octets = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(mapped);
  if (!octets) return false;
  const values = octets.slice(1).map(Number);
  if (octets.slice(1).some((octet) => octet.length > 1 && octet.startsWith('0'))) return false;
  return values.every((v) => v <= 255) && values[0] === 10;
}

/** The example permits, by `@id`. */
export const modelPermits: Readonly<Record<string, (r: ModelRequest) => boolean>> = {
  'ci-builder-pulls-artifacts': (r) => is(r, workloads.builder) && read.has(r.method) && r.resource === 'artifacts.registry' && like(r.path, '/v2/*'),
  'monitoring-scrapes-metrics': (r) => r.principal.kind === 'workload' && r.principal.namespace === 'monitoring' && r.method === 'GET' && r.path === '/metrics',
  'reconciler-reads-admin': (r) => is(r, workloads.reconciler) && read.has(r.method) && r.resourceNamespace === 'shop' && like(r.path, '/admin/*'),
  'reconciler-writes-admin': (r) =>
    is(r, workloads.reconciler) && (r.method === 'POST' || r.method === 'PUT') && r.resourceNamespace === 'shop' && r.principal.kind === 'workload' && r.principal.cls === 'automation' && like(r.path, '/admin/*'),
  'anonymous-reads-health': (r) => r.principal.kind === 'anonymous' && r.method === 'GET' && health(r),
  'frontend-reads-orders': (r) => is(r, workloads.frontend) && read.has(r.method) && r.resource === 'orders.shop' && (r.path === '/api/orders' || like(r.path, '/api/orders/*')),
  'frontend-reads-catalog': (r) => is(r, workloads.frontend) && read.has(r.method) && r.resource === 'catalog.shop' && (r.path === '/api/products' || like(r.path, '/api/products/*')),
  'checkout-writes-orders': (r) => is(r, workloads.checkout) && write.has(r.method) && r.resource === 'orders.shop' && (r.path === '/api/orders' || like(r.path, '/api/orders/*')),
  'checkout-charges-payments': (r) => is(r, workloads.checkout) && r.method === 'POST' && r.resource === 'payments.shop' && r.path === '/api/charges',
  'orders-reads-payments': (r) => is(r, workloads.orders) && read.has(r.method) && r.resource === 'payments.shop' && like(r.path, '/api/payments/*'),
  'assistant-reads-tickets-for-staff': (r) =>
    r.principal.kind === 'user' && r.principal.groups.includes('staff') && read.has(r.method) && r.resource === 'tickets.support' && r.actor?.id === `${td}/ns/agents/sa/assistant`,
  'sre-reads-admin': (r) => r.principal.kind === 'user' && r.principal.groups.includes('sre') && read.has(r.method) && like(r.path, '/admin/*'),
  'reconciler-writes-admin-for-on-call': (r) =>
    inGroup(r, 'on-call') && (r.method === 'POST' || r.method === 'PUT') && r.resourceNamespace === 'shop' && r.actor?.id === workloads.reconciler && like(r.path, '/admin/*'),
  'frontend-orders-for-customers': (r) =>
    inGroup(r, 'customers') && (read.has(r.method) || r.method === 'POST') && r.resource === 'orders.shop' && r.actor?.id === workloads.frontend && (r.path === '/api/orders' || like(r.path, '/api/orders/*')),
};

/** The example forbids, by `@id`. */
export const modelForbids: Readonly<Record<string, (r: ModelRequest) => boolean>> = {
  'no-build-jobs-in-shop': (r) => r.principal.kind === 'workload' && r.resourceNamespace === 'shop' && r.principal.cls === 'build',
  'build-jobs-never-act-in-shop': (r) => r.resourceNamespace === 'shop' && r.actor?.cls === 'build',
  'reconciler-from-pod-network-only': (r) => is(r, workloads.reconciler) && !inPodNetwork(r.sourceAddress),
  'anonymous-only-health': (r) => r.principal.kind === 'anonymous' && !(r.method === 'GET' && health(r)),
  'orders-writes-need-tenant': (r) => write.has(r.method) && r.resource === 'orders.shop' && !r.headers.has('x-tenant'),
  'automation-acts-only-for-on-call': (r) => r.actor?.cls === 'automation' && !inGroup(r, 'on-call'),
  'through-frontend-only-to-orders': (r) => r.delegation !== undefined && r.delegation.actors.includes(workloads.frontend) && !(r.resource === 'orders.shop' && r.delegation.depth === 1),
};

/**
 * The destination service as docs/reference.md defines it, derived here without src/core/resource.ts:
 * the route's `context_extensions["service"]`, else the Host, where only the Kubernetes forms
 * `NAME.NS.svc` and `NAME.NS.svc.cluster.local` (any port, a trailing dot) shorten to `NAME.NS`.
 */
export function modelResource(facts: RequestFacts): { name: string; namespace: string | undefined } {
  const named = facts.contextExtensions.get('service');
  let name: string;
  if (named !== undefined && named !== '') name = named;
  else {
    const host = (facts.host.startsWith('[') ? facts.host : facts.host.replace(/:\d*$/, '')).toLowerCase().replace(/\.$/, '');
    name = /^([^.]+\.[^.]+)\.svc(\.cluster\.local)?$/.exec(host)?.[1] ?? host;
  }
  const labels = name.split('.');
  return { name, namespace: labels.length === 2 && labels[0] !== '' && labels[1] !== '' ? labels[1] : undefined };
}

function modelClass(id: string): string {
  const path = id.slice(td.length);
  const namespace = /^\/ns\/([^/]+)\/sa\/[^/]+$/.exec(path)?.[1];
  for (const rule of fuzzClassRules) {
    if ('namespace' in rule && rule.namespace !== namespace) continue;
    if ('pathPattern' in rule && !/^\/ns\/[^/]*\/sa\/build-[^/]*$/.test(path)) continue;
    return rule.class;
  }
  return 'unknown';
}

/** An identity the fuzzer knows to be genuine: what a signed token or a trusted peer names. */
export type Expected = { kind: 'workload'; id: string } | { kind: 'user'; subject: string; groups: readonly string[] };

export interface OracleContext {
  /** Tokens the fuzzer signed with the issuers' real keys, and whom each names. */
  readonly validTokens: ReadonlyMap<string, Expected>;
  readonly trustForwardedClientCert: boolean;
  /** Ids of the permit policies in the loaded set (from the engine), to cross-check the model. */
  readonly permitIds: ReadonlySet<string>;
}

function bearer(facts: RequestFacts): string | undefined {
  const header = facts.headers.get('authorization');
  if (header === undefined) return undefined;
  const match = /^\s*bearer(?:\s+|$)(.*)$/is.exec(header);
  return match ? (match[1] ?? '').trim() : undefined;
}

/** The peer's SPIFFE ID as the request states it, if it is a well-formed ID of the trusted domain. */
function trustedPeer(facts: RequestFacts, ctx: OracleContext): string | undefined {
  const xfcc = facts.headers.get('x-forwarded-client-cert');
  const stated = ctx.trustForwardedClientCert && xfcc !== undefined ? undefined : facts.source.principal;
  if (stated === undefined) return undefined;
  const lower = stated.replace(/^spiffe:\/\//i, 'spiffe://');
  return lower.startsWith(`${td}/`) ? lower : undefined;
}

/**
 * Why an allow is wrong, or undefined when it stands. Only allows are judged: every other
 * outcome is closed, and the fuzzers check separately that it is well formed.
 */
export function judgeAllow(decision: Extract<Decision, { kind: 'allow' }>, facts: RequestFacts, ctx: OracleContext): string | undefined {
  const identity: Identity = decision.identity;
  const token = bearer(facts);
  const xfcc = facts.headers.get('x-forwarded-client-cert');
  let principal: ModelRequest['principal'];
  switch (identity.kind) {
    case 'anonymous':
      if (token !== undefined) return 'anonymous allow although a bearer token was presented';
      if (facts.source.principal !== '' && !(ctx.trustForwardedClientCert && xfcc !== undefined)) return 'anonymous allow although a peer principal was presented';
      if (ctx.trustForwardedClientCert && xfcc !== undefined) return 'anonymous allow although a trusted XFCC was presented';
      principal = { kind: 'anonymous' };
      break;
    case 'workload': {
      const id = identity.spiffeId.toString();
      if (!id.startsWith(`${td}/`)) return `workload ${id} is not in the trusted domain`;
      if (identity.authn === 'jwt') {
        const expected = token === undefined ? undefined : ctx.validTokens.get(token);
        if (!expected) return `workload ${id} authenticated by a token the fuzzer never signed`;
        if (expected.kind !== 'workload' || expected.id !== id) return `token names ${JSON.stringify(expected)}, identity is ${id}`;
        const peer = trustedPeer(facts, ctx);
        if (peer !== undefined && peer !== id) return `mTLS peer ${peer} and token ${id} differ, yet allowed`;
      } else {
        if (token !== undefined) return 'mTLS identity used although a bearer token was presented';
        if (ctx.trustForwardedClientCert && xfcc !== undefined) {
          if (!xfcc.toLowerCase().includes(id.toLowerCase())) return `identity ${id} is not in the trusted XFCC`;
        } else if (trustedPeer(facts, ctx) !== id) {
          return `identity ${id} is not the peer principal ${JSON.stringify(facts.source.principal)}`;
        }
      }
      const namespace = /^\/ns\/([^/]+)\/sa\/[^/]+$/.exec(id.slice(td.length))?.[1];
      principal = { kind: 'workload', id, namespace, cls: modelClass(id) };
      if (identity.class !== principal.cls) return `workload ${id} has class ${identity.class}, the class rules say ${principal.cls}`;
      break;
    }
    case 'user': {
      const expected = token === undefined ? undefined : ctx.validTokens.get(token);
      if (!expected) return `user ${identity.subject} authenticated by a token the fuzzer never signed`;
      if (expected.kind !== 'user' || expected.subject !== identity.subject || expected.groups.join() !== identity.groups.join()) {
        return `token names ${JSON.stringify(expected)}, identity is ${JSON.stringify(identity)}`;
      }
      principal = { kind: 'user', subject: identity.subject, groups: identity.groups };
      break;
    }
    default: {
      const never: never = identity;
      return never;
    }
  }

  const resource = modelResource(facts);
  if (decision.subject.resource !== resource.name) return `resource ${decision.subject.resource}, the model says ${resource.name}`;
  const path = decision.subject.path;
  if (!path.startsWith('/') || /(^|\/)\.\.?(\/|$)/.test(path) || /%(2f|5c|00|3b)/i.test(path) || /[^\x21-\x7e]/.test(path) || path.includes(';')) {
    return `allowed with a path that is not normalized: ${JSON.stringify(path)}`;
  }
  // The fuzz config keeps request.pathParameters at reject: a `;` parameter or a `#` anywhere in
  // the path is refused, whatever a backend would make of it.
  // The shipped policies read x-tenant: sent twice with different values, the request is refused.
  if (facts.repeatedHeaders.has('x-tenant')) return 'allowed with x-tenant repeated with different values';
  const target = facts.rawPath.split('?')[0] ?? '';
  if (/[;#]|%3b/i.test(target) || facts.rawPath.includes('#')) return `allowed a path with a ";" parameter or "#": ${JSON.stringify(facts.rawPath.slice(0, 80))}`;
  const request: ModelRequest = {
    principal,
    method: decision.subject.action,
    resource: resource.name,
    resourceNamespace: resource.namespace,
    path,
    sourceAddress: facts.source.address,
    headers: facts.headers,
    // Who acts is resolved by the identity step, tested on its own (test/identity/act-claim.test.ts);
    // the model judges what policies make of it, with the class the class rules give that workload.
    actor: actorOf(identity),
    delegation: identity.kind === 'anonymous' ? undefined : identity.delegation,
  };
  if (request.method !== facts.method) return `action ${request.method} is not the request's method ${facts.method}`;
  if (decision.policies.length === 0) return 'allow with no determining policy';
  for (const id of decision.policies) {
    if (!ctx.permitIds.has(id)) return `determining policy ${id} is not a permit`;
    const holds = modelPermits[id];
    if (!holds) return `determining policy ${id} is not modelled (update test/fuzz/oracle.ts)`;
    if (!holds(request)) return `determining permit ${id} does not hold for ${JSON.stringify({ ...request, headers: undefined })}`;
  }
  for (const [id, holds] of Object.entries(modelForbids)) {
    if (holds(request)) return `forbid ${id} holds, yet allowed: ${JSON.stringify({ ...request, headers: undefined })}`;
  }
  return undefined;
}

/** Whether the model alone permits `request`, for the sanity checks of the oracle itself. */
export function modelAllows(request: ModelRequest): boolean {
  return Object.values(modelPermits).some((p) => p(request)) && !Object.values(modelForbids).some((f) => f(request));
}

function actorOf(identity: Identity): ModelRequest['actor'] {
  const actor = identity.kind === 'anonymous' ? undefined : identity.delegation?.actor;
  return actor === undefined ? undefined : { id: actor.spiffeId.toString(), cls: modelClass(actor.spiffeId.toString()) };
}
