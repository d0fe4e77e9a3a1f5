/**
 * Issue #14, repeated keys: `?env=prod&env=prod`, or the same header twice, reached policies as
 * `"prod,prod"`, so `forbid … getTag("env") == "prod"` stopped applying while the backend still
 * read `prod`. Now identical repeats count once, and a key some policy reads, repeated with
 * different values, is refused (`ambiguous_parameter`). Every spelling of a repeat is covered:
 * the query (encoded keys too), Envoy's `header_map` (names in any case) and Envoy's joined
 * `headers` map. Runs the real Check pipeline over real Cedar.
 */
import { parseConfig } from '../../src/config.js';
import { noLifecycle } from '../../src/core/decide.js';
import type { CheckRequestMessage } from '../../src/core/decode.js';
import { CheckPipeline } from '../../src/pipeline/check-pipeline.js';
import { CedarAuthorizer } from '../../src/policy/authorizer.js';
import { PolicyEngine } from '../../src/policy/cedar/engine.js';
import { IdentityResolver } from '../../src/identity/resolve.js';
import { classifierFromRules } from '../../src/identity/classify.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { examplePolicyDir } from '../support/server-process.js';

const policies = `
@id("anyone-reads")
permit (principal, action, resource);

@id("never-prod-by-query")
forbid (principal, action, resource)
when { context.query.hasTag("env") && context.query.getTag("env") == "prod" };

@id("never-prod-by-header")
forbid (principal, action, resource)
when { context.headers.hasTag("x-env") && context.headers.getTag("x-env") == "prod" };
`;

const config = parseConfig({});
const prepared = PolicyEngine.prepare({ files: [{ name: 'p.cedar', text: policies }], schemaText: readFileSync(join(examplePolicyDir, 'schema.cedarschema'), 'utf8'), schemaFile: 'schema.cedarschema' });
if (!prepared.ok) throw new Error(JSON.stringify(prepared.problems));
const authorizer = new CedarAuthorizer(prepared.engine);
const pipeline = new CheckPipeline({
  identity: new IdentityResolver({
    mtls: { trustDomains: new Set(config.identity.trustDomains), bundles: new Map(), classify: classifierFromRules([]) },
    trustForwardedClientCert: false,
    tokens: { verify: () => ({ ok: false, code: 'unknown_issuer', detail: '', authn: 'jwt' }) },
  }),
  policies: { current: () => authorizer },
  lifecycle: () => noLifecycle,
  mode: { dryRun: false, dryRunNamespaces: new Set() },
  request: config.request,
  response: config.response,
  limits: config.limits,
});

interface Spec {
  readonly query?: string;
  readonly headers?: Record<string, string>;
  readonly headerMap?: readonly [string, string][];
}

function message({ query, headers, headerMap }: Spec): CheckRequestMessage {
  const path = query === undefined ? '/api/orders/1' : `/api/orders/1?${query}`;
  return {
    attributes: {
      source: { principal: 'spiffe://cluster.local/ns/shop/sa/frontend' },
      request: {
        http: {
          method: 'GET',
          path,
          host: 'orders.shop',
          ...(headerMap ? { header_map: { headers: headerMap.map(([key, value]) => ({ key, raw_value: Buffer.from(value) })) } } : { headers: headers ?? {} }),
        },
      },
    },
  };
}

const cases: { name: string; spec: Spec; outcome: string }[] = [
  { name: 'no env at all', spec: {}, outcome: 'allow' },
  { name: 'query env=prod', spec: { query: 'env=prod' }, outcome: 'never-prod-by-query' },
  { name: 'query env=prod twice counts once, and the forbid applies', spec: { query: 'env=prod&env=prod' }, outcome: 'never-prod-by-query' },
  { name: 'query env=prod and env=dev', spec: { query: 'env=prod&env=dev' }, outcome: 'ambiguous_parameter' },
  { name: 'query env=dev and env=prod', spec: { query: 'env=dev&env=prod' }, outcome: 'ambiguous_parameter' },
  { name: 'query env encoded once and plain once', spec: { query: 'e%6Ev=prod&env=dev' }, outcome: 'ambiguous_parameter' },
  { name: 'query env with an empty second value', spec: { query: 'env=prod&env' }, outcome: 'ambiguous_parameter' },
  { name: 'a key no policy reads, repeated', spec: { query: 'page=1&page=2' }, outcome: 'allow' },
  { name: 'header_map x-env prod twice counts once', spec: { headerMap: [['x-env', 'prod'], ['x-env', 'prod']] }, outcome: 'never-prod-by-header' },
  { name: 'header_map x-env prod and dev', spec: { headerMap: [['x-env', 'prod'], ['x-env', 'dev']] }, outcome: 'ambiguous_parameter' },
  { name: 'header_map X-Env and x-env', spec: { headerMap: [['X-Env', 'dev'], ['x-env', 'prod']] }, outcome: 'ambiguous_parameter' },
  { name: 'header_map a header no policy reads, repeated', spec: { headerMap: [['accept', 'a'], ['accept', 'b']] }, outcome: 'allow' },
  { name: 'headers map prod,prod (Envoy joined two)', spec: { headers: { 'x-env': 'prod,prod' } }, outcome: 'never-prod-by-header' },
  { name: 'headers map prod, prod with a space', spec: { headers: { 'x-env': 'prod, prod' } }, outcome: 'never-prod-by-header' },
  { name: 'headers map dev,prod (Envoy joined two)', spec: { headers: { 'x-env': 'dev,prod' } }, outcome: 'ambiguous_parameter' },
  { name: 'headers map x-env twice in different case', spec: { headers: { 'X-Env': 'dev', 'x-env': 'prod' } }, outcome: 'ambiguous_parameter' },
  { name: 'headers map with a list no policy reads', spec: { headers: { accept: 'text/html, application/json' } }, outcome: 'allow' },
];

test.each(cases)('$name: $outcome', async ({ spec, outcome }) => {
  const { decision } = await pipeline.run(message(spec));
  if (outcome === 'allow') expect(decision).toMatchObject({ kind: 'allow' });
  else if (outcome === 'ambiguous_parameter') expect(decision).toMatchObject({ kind: 'deny', status: 'forbidden', code: 'ambiguous_parameter' });
  else expect(decision).toMatchObject({ kind: 'deny', code: 'policy_denied', policies: [outcome] });
});
