import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '../config.js';
import { noLifecycle } from '../core/decide.js';
import type { CheckRequestMessage } from '../core/decode.js';
import type { RequestFacts } from '../core/request-facts.js';
import { ErrorCode, errorMessage, GatehouseError } from '../errors.js';
import { TokenVerifier } from '../identity/token-verifier.js';
import { keySourceFor, type IssuerKeySource } from '../identity/key-source.js';
import { bearerToken, type TokenVerification } from '../identity/resolve.js';
import { refuse } from '../identity/token-refusal.js';
import { resolverFromConfig } from '../identity/resolver-from-config.js';
import { CedarAuthorizer } from '../policy/authorizer.js';
import { tracePermits, traceScopes } from '../policy/cedar/trace.js';
import { fromProto3Json } from '../wire/proto-json.js';
import { authorizationService, CheckRequestType, encodeCheckRequest } from '../wire/protos.js';
import { CheckPipeline, type CheckOutcome, type IdentityStep } from '../pipeline/check-pipeline.js';
import { usage, type CommandResult } from './command.js';
import { explain } from './explain.js';
import { loadEngine } from './policy-set.js';
import { scopeMisses } from './scope-miss.js';

const help = `gatehouse check [--config FILE] [--policies DIR] [--brief] --request FILE
  decides one CheckRequest offline, through the server's own decode → identify → decide, and
  explains it: the principal, action, resource and context as Cedar saw them, the determining
  policies, and for a deny the near misses (permits whose principal, action and resource
  matched, with the condition that stopped each) and the scope misses (permits that differ
  from the request in only their principal, action or resource, and how)
  --request FILE   the CheckRequest in Envoy's proto3 JSON form (lowerCamelCase or .proto
                   names; the file 'gatehouse call --request' sends); '-' reads stdin; a FILE
                   ending in .bin holds the serialized protobuf bytes
  --brief          leave out the Cedar request as JSON
  --config FILE    trust domains, class rules, token issuers and dry-run as the server has them;
                   without token issuers, every bearer token is refused as from an unknown issuer
exit 0 allow, 1 deny, 2 usage or input error`;

export async function check(argv: string[]): Promise<CommandResult> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      policies: { type: 'string' },
      request: { type: 'string' },
      brief: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return usage(help, 0);
  if (values.request === undefined) return usage(`gatehouse check: --request FILE is required\n${help}`, 2);
  const config = loadConfig(values.config, { policies: values.policies });
  const message = readCheckRequest(values.request);
  const loaded = await loadEngine(config.policies);
  if (!loaded.ok) return { code: 2, err: loaded.err };
  const engine = loaded.engine;

  const authorizer = new CedarAuthorizer(engine, { cacheSize: 0 });
  const keySources = config.identity.jwt.map((issuer) => keySourceFor(issuer));
  const pipeline = new CheckPipeline({
    identity: offlineIdentity(config, keySources),
    policies: { current: () => authorizer },
    lifecycle: () => noLifecycle,
    mode: { dryRun: config.mode === 'dry-run', dryRunNamespaces: new Set(config.dryRunNamespaces) },
    request: config.request,
    response: config.response,
    // No proxy waits on an offline answer, and the first key fetch is part of it.
    limits: { ...config.limits, decisionTimeoutMs: offlineDeadlineMs },
  });
  let outcome: CheckOutcome;
  try {
    outcome = await pipeline.run(message);
  } finally {
    for (const source of keySources) source.close();
  }
  const { decision, facts, authn } = outcome;
  const cedarRequest = decision.kind === 'unavailable' ? undefined : decision.evaluated?.();
  const permits = decision.kind === 'deny' && cedarRequest ? tracePermits(engine, cedarRequest) : undefined;
  const scopes = decision.kind === 'deny' && cedarRequest ? traceScopes(engine, cedarRequest) : undefined;
  const misses = scopes && (scopes.ok ? { ok: true as const, misses: scopeMisses(scopes.scopes, cedarRequest!) } : scopes);
  const notes = offlineNotes(config, facts);
  const out = explain({ facts, authn, decision, policies: engine.policies, cedarRequest, permits, scopeMisses: misses, reads: authorizer.reads, notes, brief: values.brief });
  return { code: decision.kind === 'allow' ? 0 : decision.kind === 'deny' ? 1 : 2, out };
}

const offlineDeadlineMs = 30_000;

/**
 * The CheckRequest as grpc-js hands it to the server's handler: JSON is converted to the message
 * and serialized, and the bytes (read as they are from a .bin file) go through the service
 * definition's own deserializer.
 */
function readCheckRequest(file: string): CheckRequestMessage {
  let bytes: Buffer;
  try {
    if (file !== '-' && file.endsWith('.bin')) {
      bytes = readFileSync(file);
    } else {
      const text = readFileSync(file === '-' ? 0 : file, 'utf8');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (err) {
        throw new GatehouseError(ErrorCode.badRequest, `not JSON: ${errorMessage(err)}`);
      }
      bytes = Buffer.from(encodeCheckRequest(fromProto3Json(CheckRequestType, json)));
    }
    return authorizationService.Check!.requestDeserialize(bytes) as CheckRequestMessage;
  } catch (err) {
    const name = file === '-' ? 'stdin' : file;
    throw new GatehouseError(ErrorCode.badRequest, `--request ${name}: ${errorMessage(err)}`, { cause: err });
  }
}

const noIssuers: TokenVerification = {
  verify: () => Promise.resolve(refuse(ErrorCode.unknownIssuer, 'no token issuer is configured')),
};

/** The server's identity resolution over the given key sources, each fetched once in full first. */
function offlineIdentity(config: Config, sources: readonly IssuerKeySource[]): IdentityStep {
  const keySources = new Map(sources.map((source) => [source.issuer, source]));
  const tokens = sources.length === 0 ? noIssuers : new TokenVerifier(config.identity.jwt, config.identity.trustDomains, config.limits, keySources, { maxDelegationDepth: config.identity.maxDelegationDepth });
  const resolver = resolverFromConfig(config, tokens);
  return {
    async resolve(facts, nowSeconds) {
      // The server has its keys by the time requests come; here the first fetch is awaited in full.
      if (bearerToken(facts.headers.get('authorization')) !== undefined) await Promise.all(sources.map((source) => source.refresh()));
      return resolver.resolve(facts, nowSeconds);
    },
  };
}

function offlineNotes(config: Config, facts: RequestFacts): string[] {
  const notes: string[] = [];
  if (bearerToken(facts.headers.get('authorization')) !== undefined && config.identity.jwt.length === 0) {
    notes.push('the request carries a bearer token, but no token issuer is configured (identity.jwt, give --config): check refuses every token as from an unknown issuer');
  }
  if (facts.headers.has('x-forwarded-client-cert') && !config.identity.trustForwardedClientCert) {
    notes.push('x-forwarded-client-cert is ignored: identity.trustForwardedClientCert is off');
  }
  if (config.kubernetes.enabled) {
    notes.push('Kubernetes lifecycle (deleted pods and service accounts) and TokenReview are not consulted offline; tokens are verified with the configured keys');
  }
  return notes;
}
