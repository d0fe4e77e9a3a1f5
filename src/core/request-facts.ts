/**
 * What gatehouse knows about one request, decoded from Envoy's CheckRequest. Plain values only:
 * everything downstream of decoding reads these, never the protobuf message.
 */
export interface RequestFacts {
  /** Envoy's `x-request-id` header, '' when absent. */
  readonly requestId: string;
  /** Envoy's stream id (`http.id`); not the request id. */
  readonly streamId: string;
  /** Upper-case HTTP method as Envoy sent it ('' when absent). */
  readonly method: string;
  /** The raw request target as Envoy sent it, query included. */
  readonly rawPath: string;
  /** `:authority` / host, '' when absent. */
  readonly host: string;
  readonly scheme: string;
  readonly protocol: string;
  /** Lower-case names; repeated headers joined by ',' as Envoy does, identical repeats once. */
  readonly headers: ReadonlyMap<string, string>;
  /**
   * Header names sent more than once with different values, where backends may read either one.
   * From `header_map` every occurrence is seen; Envoy's `headers` map has already joined them
   * with ',', so there a value whose comma-separated parts differ counts as repeated.
   */
  readonly repeatedHeaders: ReadonlySet<string>;
  readonly source: PeerFacts;
  readonly destination: PeerFacts;
  readonly contextExtensions: ReadonlyMap<string, string>;
  readonly sni: string;
  /** Problems found while decoding; any problem makes the request a deny with that reason. */
  readonly problems: readonly string[];
}

export interface PeerFacts {
  readonly address: string;
  readonly port: number;
  /** SPIFFE ID (or other URI SAN) Envoy read from the peer certificate, '' when absent. */
  readonly principal: string;
  /** URL-encoded PEM of the peer certificate, '' when absent. */
  readonly certificate: string;
}
