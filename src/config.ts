import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { trustDomainProblem, type TrustDomain } from './core/trust-domain.js';
import { deepFreeze } from './deep-freeze.js';
import { ErrorCode, errorMessage, GatehouseError } from './errors.js';
import { parseCidr } from './net/cidr.js';

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected HOST:PORT')
  .refine((v) => Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535, 'the port must be 0 to 65535');
const seconds = z.number().int().positive();
/** Checked as SPIFFE IDs check theirs, so a configured domain can equal a parsed ID's. */
const trustDomain = z.string().check((ctx) => {
  const problem = trustDomainProblem(ctx.value);
  if (problem !== undefined) ctx.issues.push({ code: 'custom', message: problem, input: ctx.value });
}).refine((_name): _name is TrustDomain => true);

/** Prefixes travel upstream in a header value and an assertion `sub`, as subjects do: nothing to escape. */
const printable = z.string().regex(/^[\x20-\x7e]*$/, 'expected printable ASCII');

const jwtIssuer = z
  .strictObject({
    issuer: z.string().min(1),
    kind: z.enum(['kubernetes', 'spiffe', 'oidc']),
    audiences: z.array(z.string().min(1)).min(1),
    jwksFile: z.string().min(1).optional(),
    jwksUri: z.url().optional(),
    discovery: z.boolean().default(false),
    maxLifetimeSeconds: seconds.default(86400),
    clockSkewSeconds: z.number().int().min(0).max(300).default(30),
    /** kubernetes and spiffe issuers: the one trust domain this issuer may name workloads in (see workloadTrustDomain). */
    trustDomain: trustDomain.optional(),
    /** oidc issuers: a person is `User::"<userPrefix><sub>"`, so that no issuer can name another's people. */
    userPrefix: printable.default(''),
    /** oidc issuers: a group is `Group::"<groupPrefix><group>"`; unset, the userPrefix. */
    groupPrefix: printable.optional(),
    /** OIDC: the claim holding the user's groups. */
    groupsClaim: z.string().min(1).default('groups'),
    algorithms: z
      .array(z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']))
      .min(1)
      .default(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']),
  })
  .refine((j) => [j.jwksFile, j.jwksUri, j.discovery || undefined].filter((v) => v !== undefined).length === 1, {
    message: 'exactly one of jwksFile, jwksUri or discovery: true is required',
  });

const classRule = z.strictObject({
  class: z.enum(['service', 'build', 'automation', 'agent']),
  trustDomain: z.string().optional(),
  namespace: z.string().optional(),
  /** A glob over the SPIFFE ID path: `*` matches within one segment, `**` across segments. */
  pathPattern: z.string().startsWith('/').optional(),
});

const cidr = z.string().check((ctx) => {
  const parsed = parseCidr(ctx.value);
  if (!parsed.ok) ctx.issues.push({ code: 'custom', message: parsed.reason, input: ctx.value });
});

/** The forward-auth endpoint of the HTTP authorization listener. */
export const forwardAuthPath = '/forward-auth';

/** The Envoy `http_service` prefix: path segments, never `/forward-auth` or a prefix of it. */
const envoyPathPrefix = z
  .string()
  .regex(/^(\/[A-Za-z0-9._~-]+)+$/, 'expected a path such as /envoy: segments of letters, digits, . _ ~ -, no trailing /')
  .refine((prefix) => prefix !== forwardAuthPath && !forwardAuthPath.startsWith(`${prefix}/`), `must not be ${forwardAuthPath} or contain it`);

/** The collector's OTLP/HTTP base URL; the signals go to its `/v1/logs` and `/v1/traces`. */
const otlpEndpoint = z.string().check((ctx) => {
  const problem = otlpEndpointProblem(ctx.value);
  if (problem !== undefined) ctx.issues.push({ code: 'custom', message: problem, input: ctx.value });
});

function otlpEndpointProblem(value: string): string | undefined {
  if (value === '') return undefined;
  const url = URL.parse(value);
  if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) return 'expected an http:// or https:// URL, or empty for off';
  if (url.search !== '' || url.hash !== '' || value.includes('?') || value.includes('#')) return 'expected a base URL without query or fragment';
  if (url.username !== '' || url.password !== '') return 'expected no credentials in the URL';
  return undefined;
}

const limits = z.strictObject({
  maxMessageBytes: z.number().int().min(1024).default(4 * 1024 * 1024),
  maxHeaders: z.number().int().positive().default(200),
  maxHeaderBytes: z.number().int().positive().default(64 * 1024),
  maxTokenBytes: z.number().int().positive().default(16 * 1024),
  maxConcurrentChecks: z.number().int().positive().default(1024),
  /** Below Envoy's default ext_authz timeout (200 ms), so Envoy hears our answer rather than its own timeout. */
  decisionTimeoutMs: z.number().int().positive().default(180),
  /** Below decisionTimeoutMs, so a slow key endpoint ends in a deny that names it (keys_unavailable). */
  keyFetchTimeoutMs: z.number().int().positive().default(100),
});

export const configSchema = z.strictObject({
  listen: hostPort.default('0.0.0.0:9191'),
  httpListen: hostPort.default('0.0.0.0:9192'),
  policies: z.string().min(1).default('./policies'),
  mode: z.enum(['enforce', 'dry-run']).default('enforce'),
  dryRunNamespaces: z.array(z.string().min(1)).default([]),
  /** Processes sharing the gRPC port; absent: as many as the CPU limit and the memory budget allow (src/serve/process-plan.ts). */
  workers: z.number().int().min(1).max(64).optional(),
  /** MiB all gatehouse processes together plan to stay within; absent: 80% of the container's memory limit, else 400. */
  memoryBudgetMiB: z.number().int().min(128).max(1_048_576).optional(),
  shutdownGraceSeconds: seconds.default(10),
  grpcReflection: z.boolean().default(false),
  identity: z
    .strictObject({
      trustDomains: z.array(trustDomain).min(1).default(['cluster.local' as TrustDomain]),
      trustForwardedClientCert: z.boolean().default(false),
      /** PEM bundle file per trust domain; when set, peer certificates are chain-verified. */
      trustBundles: z.record(z.string(), z.string().min(1)).default({}),
      jwt: z.array(jwtIssuer).default([]),
      classes: z.array(classRule).default([]),
      /** The longest RFC 8693 `act` chain accepted (docs/reference.md, "Delegation"). */
      maxDelegationDepth: z.number().int().min(1).max(16).default(2),
    })
    .superRefine((identity, ctx) => {
      for (const { index, key, message } of issuerProblems(identity)) ctx.addIssue({ code: 'custom', path: ['jwt', index, key], message });
    })
    .prefault({}),
  request: z
    .strictObject({
      /** `;` path parameters: refused, or cut off every segment as servlet containers do (src/core/path.ts). */
      pathParameters: z.enum(['reject', 'strip']).default('reject'),
    })
    .prefault({}),
  response: z
    .strictObject({
      principalHeader: z.string().regex(/^[a-z0-9-]+$/).default('x-gatehouse-principal'),
      decisionHeader: z.string().regex(/^[a-z0-9-]+$/).default('x-gatehouse-decision-id'),
      removeCredentials: z.boolean().default(false),
      assertion: z
        .strictObject({
          enabled: z.boolean().default(false),
          issuer: z.string().min(1).default('https://gatehouse.gatehouse.svc'),
          ttlSeconds: seconds.max(3600).default(60),
          keyFile: z.string().default(''),
          /** Keys served in the key set that never sign: the next key before a rotation, the previous one after. */
          publishKeyFiles: z.array(z.string().min(1)).default([]),
          /** Destination `Service` uids (`orders.shop`) that get an assertion; empty means every service. */
          services: z.array(z.string().min(1)).default([]),
        })
        .prefault({}),
    })
    .prefault({}),
  kubernetes: z
    .strictObject({
      enabled: z.boolean().default(false),
      kubeconfig: z.string().default(''),
      staleAfterSeconds: seconds.default(30),
      failClosed: z.boolean().default(true),
      tokenReview: z.boolean().default(false),
    })
    .prefault({}),
  decisionLog: z
    .strictObject({
      stdout: z.boolean().default(true),
      file: z.string().default(''),
    })
    .prefault({}),
  /** HTTP authorization for proxies without gRPC ext_authz (src/transport/http-authz-server.ts). */
  httpAuthz: z
    .strictObject({
      enabled: z.boolean().default(false),
      listen: hostPort.default('0.0.0.0:9193'),
      envoyPathPrefix: envoyPathPrefix.default('/envoy'),
      /** Peers whose X-Forwarded-For / X-Real-IP name the client; everyone else is the client. */
      trustedProxies: z.array(cidr).default([]),
    })
    .prefault({}),
  limits: limits.prefault({}),
  /** OpenTelemetry export over OTLP/HTTP (src/telemetry/); off while `otlp.endpoint` is empty. */
  telemetry: z
    .strictObject({
      serviceName: z.string().min(1).default('gatehouse'),
      otlp: z
        .strictObject({
          endpoint: otlpEndpoint.default(''),
          logs: z.boolean().default(true),
          traces: z.boolean().default(true),
          /**
           * OTEL_TRACES_SAMPLER's names: `parentbased_traceidratio` follows a caller's sampled flag;
           * `traceidratio` ignores it, so that an untrusted caller can neither force every span
           * recorded nor switch tracing off.
           */
          sampler: z.enum(['parentbased_traceidratio', 'traceidratio']).default('parentbased_traceidratio'),
          /** The share of traces (by trace id) whose spans are kept: those without a parent, or every one with `traceidratio`. */
          sampleRatio: z.number().min(0).max(1).default(1),
        })
        .prefault({}),
    })
    .prefault({}),
});

interface IssuerProblem {
  readonly index: number;
  readonly key: 'trustDomain' | 'userPrefix' | 'groupPrefix';
  readonly message: string;
}

type IdentitySection = Pick<z.output<typeof jwtIssuer>, 'kind' | 'trustDomain' | 'userPrefix' | 'groupPrefix'>[];

/** Issue #14: no issuer may mint an identity that belongs to another (docs/reference.md, "Trust across issuers"). */
function issuerProblems(identity: { readonly trustDomains: readonly string[]; readonly jwt: IdentitySection }): IssuerProblem[] {
  const problems: IssuerProblem[] = [];
  const oidcIssuers = identity.jwt.flatMap((issuer, index) => (issuer.kind === 'oidc' ? [{ issuer, index }] : []));
  identity.jwt.forEach((issuer, index) => {
    if (issuer.kind === 'oidc') {
      if (issuer.trustDomain !== undefined) problems.push({ index, key: 'trustDomain', message: 'is for kubernetes and spiffe issuers; an oidc issuer names people' });
      return;
    }
    if (issuer.userPrefix !== '') problems.push({ index, key: 'userPrefix', message: `is for oidc issuers; a ${issuer.kind} issuer names workloads` });
    if (issuer.groupPrefix !== undefined) problems.push({ index, key: 'groupPrefix', message: `is for oidc issuers; a ${issuer.kind} issuer names workloads` });
    if (issuer.trustDomain !== undefined && !identity.trustDomains.includes(issuer.trustDomain)) {
      problems.push({ index, key: 'trustDomain', message: 'must be one of identity.trustDomains' });
    } else if (workloadTrustDomain(issuer, identity) === undefined) {
      const why =
        issuer.kind === 'spiffe'
          ? 'is required for a spiffe issuer'
          : 'is required for a kubernetes issuer unless it is the only kubernetes or spiffe issuer and identity.trustDomains has one entry';
      problems.push({ index, key: 'trustDomain', message: why });
    }
  });
  if (oidcIssuers.length < 2) return problems;
  const unprefixed = oidcIssuers.filter(({ issuer }) => issuer.userPrefix === '');
  for (const { index } of unprefixed) {
    problems.push({ index, key: 'userPrefix', message: 'must be set (non-empty) when two or more oidc issuers are configured' });
  }
  if (unprefixed.length > 0) return problems;
  // Either way round: with `corp:` and `corp:x`, the second issuer's `bob` and the first's `xbob`
  // would both be `corp:xbob`.
  const overlaps = (a: string, b: string): boolean => a.startsWith(b) || b.startsWith(a);
  for (const { issuer, index } of oidcIssuers) {
    for (const [key, prefix] of prefixesOf(issuer)) {
      const clash = oidcIssuers.find((other) => other.index < index && prefixesOf(other.issuer).some(([, theirs]) => overlaps(prefix, theirs)));
      if (clash !== undefined) {
        problems.push({ index, key, message: `${JSON.stringify(prefix)} overlaps a prefix of identity.jwt.${clash.index}: no issuer's names may start another's` });
      }
    }
  }
  return problems;
}

function prefixesOf(issuer: IdentitySection[number]): ['userPrefix' | 'groupPrefix', string][] {
  return [
    ['userPrefix', issuer.userPrefix],
    ['groupPrefix', issuer.groupPrefix ?? issuer.userPrefix],
  ];
}

/**
 * The one trust domain a kubernetes or spiffe issuer names workloads in: its `trustDomain`, or,
 * for the only such issuer when there is only one trust domain, that one. undefined when the
 * configuration must say (the start then stops) and for oidc issuers.
 */
export function workloadTrustDomain(
  issuer: Pick<z.output<typeof jwtIssuer>, 'kind' | 'trustDomain'>,
  identity: { readonly trustDomains: readonly string[]; readonly jwt: readonly Pick<z.output<typeof jwtIssuer>, 'kind'>[] },
): TrustDomain | undefined {
  if (issuer.kind === 'oidc') return undefined;
  if (issuer.trustDomain !== undefined) return issuer.trustDomain;
  const workloadIssuers = identity.jwt.filter((candidate) => candidate.kind !== 'oidc').length;
  const [only] = identity.trustDomains;
  return issuer.kind === 'kubernetes' && workloadIssuers === 1 && identity.trustDomains.length === 1 ? (only as TrustDomain) : undefined;
}

type DeepReadonly<T> = T extends string
  ? T
  : T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

export type Config = DeepReadonly<z.output<typeof configSchema>>;
export type JwtIssuerConfig = Config['identity']['jwt'][number];
export type ClassRule = Config['identity']['classes'][number];
export type Limits = Config['limits'];

/** Flags that override the file; undefined means "not given". */
export interface ConfigOverrides {
  readonly listen?: string;
  readonly httpListen?: string;
  readonly policies?: string;
  readonly workers?: number;
}

/**
 * Turns untrusted input into a frozen Config, reporting every problem at once with the path of
 * the key that is wrong.
 */
export function parseConfig(input: unknown, overrides: ConfigOverrides = {}): Config {
  const base = input ?? {};
  if (typeof base !== 'object' || Array.isArray(base)) {
    throw new GatehouseError(ErrorCode.config, 'config: the file must hold a YAML mapping');
  }
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) if (value !== undefined) merged[key] = value;
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const path = issue.path.join('.') || '(top level)';
      const unknown = issue.code === 'unrecognized_keys' ? ` ${issue.keys.map((k) => [...issue.path, k].join('.')).join(', ')}` : '';
      return `config: ${path}: ${issue.message}${unknown}`;
    });
    throw new GatehouseError(ErrorCode.config, lines.join('\n'));
  }
  return deepFreeze(result.data) as Config;
}

export function loadConfig(file: string | undefined, overrides: ConfigOverrides = {}): Config {
  if (file === undefined) return parseConfig({}, overrides);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new GatehouseError(ErrorCode.config, `config: cannot read ${file}: ${errorMessage(err)}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new GatehouseError(ErrorCode.config, `config: ${file} is not valid YAML: ${errorMessage(err)}`);
  }
  return parseConfig(doc, overrides);
}
