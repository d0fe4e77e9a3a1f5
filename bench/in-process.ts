/**
 * The Check pipeline in-process, as the decision-core benches drive it: mTLS identities from the
 * principal alone (no trust bundles, no token issuer), the default request options and limits,
 * and pre-decoded CheckRequests.
 */
import type { CheckRequestMessage } from '../src/core/decode.js';
import { noLifecycle } from '../src/core/decide.js';
import { defaultRequestOptions } from '../src/core/parse-request.js';
import { classifierFromRules } from '../src/identity/classify.js';
import { IdentityResolver } from '../src/identity/resolve.js';
import { CheckPipeline, type PipelineDeps } from '../src/pipeline/check-pipeline.js';
import type { CedarAuthorizer } from '../src/policy/authorizer.js';
import { CheckRequestType, decodeCheckRequest } from '../src/wire/protos.js';
import { framed, frontend } from './estate.js';

/** A decoded CheckRequest from `principal` (mTLS) for `path`, with any extra headers. */
export function checkMessage(path: string, principal = frontend, headers?: Record<string, string>): CheckRequestMessage {
  const body = framed({ principal, path, ...(headers ? { headers } : {}) }).subarray(5);
  return CheckRequestType.toObject(decodeCheckRequest(body), { longs: String, enums: String, defaults: false }) as CheckRequestMessage;
}

/** A pipeline over `authorizer`; `extra` adds steps (a record step, tracing). */
export function inProcessPipeline(authorizer: CedarAuthorizer, extra: Partial<PipelineDeps> = {}): CheckPipeline {
  return new CheckPipeline({
    identity: new IdentityResolver({
      mtls: { trustDomains: new Set(['cluster.local']), bundles: new Map(), classify: classifierFromRules([]) },
      trustForwardedClientCert: false,
      tokens: { verify: async () => ({ ok: false, code: 'unknown_issuer', detail: '', authn: 'jwt' }) },
    }),
    policies: { current: () => authorizer },
    lifecycle: () => noLifecycle,
    mode: { dryRun: false, dryRunNamespaces: new Set<string>() },
    request: defaultRequestOptions,
    response: { principalHeader: 'x-gatehouse-principal', decisionHeader: 'x-gatehouse-decision-id', removeCredentials: false },
    limits: { maxHeaders: 200, maxHeaderBytes: 65536, maxConcurrentChecks: 1024, decisionTimeoutMs: 180 },
    ...extra,
  });
}
