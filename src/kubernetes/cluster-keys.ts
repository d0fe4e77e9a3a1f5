import type { JwksOrigin } from '../identity/jwks-origin.js';
import { quote } from '../identity/printable.js';
import type { KubeApi } from './kube-api.js';

export interface ClusterKeysOptions {
  /** When set, the discovery document must name exactly this issuer. */
  readonly expectedIssuer?: string;
  readonly maxDocumentBytes?: number;
}

const discoveryPath = '/.well-known/openid-configuration';
/**
 * Where the API server itself serves its service-account keys. The discovery document's
 * `jwks_uri` names the address published to outsiders (the issuer's host, or an external bucket
 * as on EKS), which may be unreachable from here or serve another path; the API server answers
 * this path in every case, with the same keys, to callers holding its credentials.
 */
const jwksPath = '/openid/v1/jwks';

/**
 * The cluster's service-account signing keys, fetched from the API server with the kubeconfig's
 * CA and token, for an `IssuerKeySource`: its periodic refresh and unknown-`kid` refetch follow
 * the cluster's key rotation.
 */
export function clusterKeysOrigin(api: Pick<KubeApi, 'getJson'>, options: ClusterKeysOptions = {}): JwksOrigin {
  const maxBytes = options.maxDocumentBytes ?? 1024 * 1024;
  return {
    async fetch(signal) {
      const doc = await api.getJson(discoveryPath, 'cluster discovery document', { signal, maxBytes });
      if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error('cluster discovery document is not a JSON object');
      const issuer: unknown = (doc as Record<string, unknown>)['issuer'];
      if (options.expectedIssuer !== undefined && issuer !== options.expectedIssuer) {
        throw new Error(`cluster discovery document names issuer ${quote(issuer)}, not the configured one`);
      }
      return api.getJson(jwksPath, 'cluster key set', { signal, maxBytes });
    },
  };
}
