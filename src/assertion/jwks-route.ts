import type { JSONWebKeySet } from 'jose';

/** Where upstreams fetch the assertion keys, on the HTTP port (docs/reference.md, "Upstream assertion"). */
export const jwksPath = '/.well-known/jwks.json';

export interface JwksResponse {
  readonly contentType: string;
  readonly body: string;
}

/** A handler for the HTTP server's `routes`: the key set as it stands at each request. */
export function jwksRoute(keys: { keySet(): JSONWebKeySet }): () => JwksResponse {
  return () => ({ contentType: 'application/json', body: `${JSON.stringify(keys.keySet())}\n` });
}
