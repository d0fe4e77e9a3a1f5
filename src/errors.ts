/**
 * Stable error codes. They appear in decision logs and as metric labels, so they are part of
 * what operators build alerts on: add codes, never rename them.
 */
export const ErrorCode = {
  // request shape
  badRequest: 'bad_request',
  badPath: 'bad_path',
  destinationMismatch: 'destination_mismatch',
  ambiguousParameter: 'ambiguous_parameter',
  limitExceeded: 'limit_exceeded',
  // credentials
  malformedCredential: 'malformed_credential',
  malformedSpiffeId: 'malformed_spiffe_id',
  untrustedTrustDomain: 'untrusted_trust_domain',
  certificateMismatch: 'certificate_mismatch',
  certificateInvalid: 'certificate_invalid',
  malformedXfcc: 'malformed_xfcc',
  tokenTooLarge: 'token_too_large',
  unknownIssuer: 'unknown_issuer',
  algorithmNotAllowed: 'algorithm_not_allowed',
  signatureInvalid: 'signature_invalid',
  unknownKey: 'unknown_key',
  keysUnavailable: 'keys_unavailable',
  tokenExpired: 'token_expired',
  tokenNotYetValid: 'token_not_yet_valid',
  missingExpiry: 'missing_expiry',
  lifetimeTooLong: 'lifetime_too_long',
  audienceMismatch: 'audience_mismatch',
  badClaims: 'bad_claims',
  identityMismatch: 'identity_mismatch',
  delegationTooDeep: 'delegation_too_deep',
  credentialRevoked: 'credential_revoked',
  livenessUnknown: 'liveness_unknown',
  // our own failures
  noPolicySet: 'no_policy_set',
  evaluationFailed: 'evaluation_failed',
  internal: 'internal',
  decisionTimeout: 'decision_timeout',
  overloaded: 'overloaded',
  config: 'config',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The one error type gatehouse throws for its own failures; denies are values, never errors. */
export class GatehouseError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'GatehouseError';
  }
}

/**
 * The message of anything thrown, for logs and refusal details: one helper instead of a cast at
 * each catch. Duck-typed, not `instanceof Error`: errors from another realm (vm contexts, test
 * runners, node:net and undici) fail that test.
 */
export function errorMessage(err: unknown): string {
  const message = (err as { message?: unknown } | null | undefined)?.message;
  return typeof message === 'string' ? message : String(err);
}
