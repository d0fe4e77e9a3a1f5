import type { Config } from '../config.js';
import { IssuerKeySource, keySourceFor } from '../identity/key-source.js';
import type { TokenVerification } from '../identity/resolve.js';
import { TokenRouter } from '../identity/token-router.js';
import { TokenVerifier } from '../identity/token-verifier.js';
import type { KubernetesRuntime } from '../kubernetes/index.js';

/** A server's token verification and the key sources it owns (started and closed with the server). */
export interface ServerTokens {
  readonly tokens: TokenVerification;
  readonly keySources: ReadonlyMap<string, IssuerKeySource>;
}

/**
 * Every configured issuer's key source and one verifier over them. With Kubernetes enabled, the
 * cluster's issuer keys are read from the API server with the pod's credentials, and with
 * TokenReview on, the cluster's own tokens are asked of the API server instead.
 */
export function serverTokens(config: Config, kube: KubernetesRuntime | undefined): ServerTokens {
  const keySources = new Map(
    config.identity.jwt.map((issuer) => [
      issuer.issuer,
      kube && issuer.kind === 'kubernetes' && issuer.discovery ? new IssuerKeySource(issuer.issuer, kube.clusterKeys(issuer.issuer)) : keySourceFor(issuer),
    ]),
  );
  const local = new TokenVerifier(config.identity.jwt, config.identity.trustDomains, config.limits, keySources, { maxDelegationDepth: config.identity.maxDelegationDepth });
  const clusterIssuers = new Set(config.identity.jwt.filter((issuer) => issuer.kind === 'kubernetes').map((issuer) => issuer.issuer));
  return { tokens: kube?.tokenReview ? new TokenRouter(clusterIssuers, kube.tokenReview, local) : local, keySources };
}
