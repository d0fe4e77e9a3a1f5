import type { Config } from '../config.js';
import { classifierFromRules } from './classify.js';
import { IdentityResolver, type TokenVerification } from './resolve.js';
import { loadTrustBundles } from './trust-bundle.js';

/** The resolver a configuration describes; the server and `gatehouse check` share it. */
export function resolverFromConfig(config: Config, tokens: TokenVerification): IdentityResolver {
  return new IdentityResolver({
    mtls: {
      trustDomains: new Set(config.identity.trustDomains),
      bundles: loadTrustBundles(config.identity.trustBundles),
      classify: classifierFromRules(config.identity.classes),
    },
    trustForwardedClientCert: config.identity.trustForwardedClientCert,
    tokens,
  });
}
