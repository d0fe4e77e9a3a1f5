/**
 * The proxy wiring: Istio's extension provider and CUSTOM AuthorizationPolicy (k8s/istio/), and
 * the standalone Envoy bootstrap (k8s/envoy/envoy.yaml). These are not Kubernetes core types, so
 * the tests assert the fields that decide whether requests are checked and fail closed. Field
 * names follow Istio's mesh config proto (istio/api mesh/v1alpha1/config.proto) and Envoy's v3
 * API; a strict check of every field against those protos was run by hand (docs/deploy.md).
 */
import type { IService } from 'kubernetes-models/v1';
import { findDoc, readDocs } from './manifests.js';

/** Fields of istio.mesh.v1alpha1 MeshConfig.ExtensionProvider.EnvoyExternalAuthorizationGrpcProvider. */
const grpcProviderFields = ['service', 'port', 'timeout', 'failOpen', 'clearRouteCache', 'statusOnError', 'includeRequestBodyInCheck'];

interface GrpcProvider {
  service: string;
  port: number;
  timeout?: string;
  failOpen?: boolean;
  statusOnError?: string;
}

interface AuthorizationPolicySpec {
  action?: string;
  provider?: { name: string };
  rules?: Record<string, unknown>[];
  selector?: unknown;
}

const service = findDoc<IService>(readDocs('service.yaml'), 'Service', 'gatehouse');
const grpcPort = service.spec!.ports!.find((port) => port.name === 'grpc')!.port;

describe('Istio', () => {
  const operator = findDoc<{ spec: { meshConfig: { extensionProviders: { name: string; envoyExtAuthzGrpc?: GrpcProvider }[] } } }>(
    readDocs('istio/meshconfig-extension-provider.yaml'),
    'IstioOperator',
    'gatehouse-extension-provider',
  );
  const providers = operator.spec.meshConfig.extensionProviders;
  const policy = findDoc<{ metadata: { namespace: string }; spec: AuthorizationPolicySpec }>(readDocs('istio/authorizationpolicy.yaml'), 'AuthorizationPolicy', 'gatehouse');

  test('registers one gRPC ext_authz provider named gatehouse, pointing at the Service', () => {
    expect(providers.map((provider) => provider.name)).toEqual(['gatehouse']);
    const grpc = providers[0]!.envoyExtAuthzGrpc!;
    expect(grpc.service).toBe(`${service.metadata!.name}.${service.metadata!.namespace}.svc.cluster.local`);
    expect(grpc.port).toBe(grpcPort);
  });

  test('fails closed, with a short timeout and 503 on errors', () => {
    const grpc = providers[0]!.envoyExtAuthzGrpc!;
    expect(grpc.failOpen).toBe(false);
    expect(grpc.timeout).toMatch(/^\d+(\.\d+)?s$/);
    expect(parseFloat(grpc.timeout!)).toBeLessThanOrEqual(1);
    expect(grpc.statusOnError).toBe('503');
  });

  test('uses only fields the provider message defines', () => {
    expect(Object.keys(providers[0]!.envoyExtAuthzGrpc!).filter((key) => !grpcProviderFields.includes(key))).toEqual([]);
  });

  test('the AuthorizationPolicy hands every request of namespace shop to gatehouse', () => {
    expect(policy.metadata.namespace).toBe('shop');
    expect(policy.spec.action).toBe('CUSTOM');
    expect(policy.spec.provider).toEqual({ name: 'gatehouse' });
    expect(policy.spec.selector).toBeUndefined();
    // A CUSTOM policy without rules matches nothing; an empty rule matches everything.
    expect(policy.spec.rules).toEqual([{}]);
  });
});

describe('the standalone Envoy bootstrap', () => {
  const [bootstrapDoc, ...extra] = readDocs('envoy/envoy.yaml');
  const bootstrap = bootstrapDoc!.body as unknown as Bootstrap;
  const hcm = bootstrap.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!;
  const hcmConfig = hcm.typed_config as unknown as HttpConnectionManager;
  const filters = hcmConfig.http_filters;
  const extAuthz = filters.find((filter) => filter.name === 'envoy.filters.http.ext_authz');
  const extAuthzConfig = extAuthz?.typed_config as unknown as ExtAuthz;

  test('is one document with one listener', () => {
    expect(extra).toEqual([]);
    expect(bootstrap.static_resources.listeners).toHaveLength(1);
    expect(hcm.name).toBe('envoy.filters.network.http_connection_manager');
    expect(hcm.typed_config['@type']).toBe('type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager');
  });

  test('runs ext_authz (v3) before the router, which comes last', () => {
    expect(extAuthz?.typed_config['@type']).toBe('type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz');
    expect(filters.map((filter) => filter.name)).toEqual(['envoy.filters.http.ext_authz', 'envoy.filters.http.router']);
  });

  test('asks gatehouse over the v3 gRPC API, fails closed, and sends the peer certificate', () => {
    expect(extAuthzConfig).toMatchObject({
      transport_api_version: 'V3',
      grpc_service: { envoy_grpc: { cluster_name: 'gatehouse' } },
      include_peer_certificate: true,
      failure_mode_allow: false,
      status_on_error: { code: 'ServiceUnavailable' },
    });
    expect(extAuthzConfig.grpc_service.timeout).toMatch(/^\d+(\.\d+)?s$/);
  });

  test('the gatehouse cluster speaks HTTP/2 to 127.0.0.1:9191', () => {
    const cluster = bootstrap.static_resources.clusters.find((candidate) => candidate.name === extAuthzConfig.grpc_service.envoy_grpc.cluster_name);
    expect(cluster?.typed_extension_protocol_options?.['envoy.extensions.upstreams.http.v3.HttpProtocolOptions']).toEqual({
      '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
      explicit_http_config: { http2_protocol_options: {} },
    });
    expect(cluster?.load_assignment.endpoints[0]?.lb_endpoints[0]?.endpoint.address.socket_address).toEqual({ address: '127.0.0.1', port_value: grpcPort });
  });

  test('normalizes paths and sets x-forwarded-client-cert itself', () => {
    expect(hcmConfig).toMatchObject({
      normalize_path: true,
      merge_slashes: true,
      forward_client_cert_details: 'SANITIZE_SET',
      set_current_client_cert_details: { uri: true },
    });
  });

  test('requires a client certificate, the source of the caller identity', () => {
    const tls = bootstrap.static_resources.listeners[0]!.filter_chains[0]!.transport_socket?.typed_config;
    expect(tls?.['@type']).toBe('type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext');
    expect(tls?.['require_client_certificate']).toBe(true);
  });

  test('every route names its Service in context_extensions, under the ext_authz filter name', () => {
    const routes = hcmConfig.route_config.virtual_hosts.flatMap((host) => host.routes);
    expect(routes.length).toBeGreaterThan(0);
    for (const route of routes) {
      const perRoute = route.typed_per_filter_config?.[extAuthz!.name];
      expect(perRoute?.['@type']).toBe('type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute');
      expect((perRoute?.['check_settings'] as { context_extensions?: Record<string, string> }).context_extensions?.['service']).toMatch(/^[a-z0-9-]+\.[a-z0-9-]+$/);
    }
    expect(routes[0]!.typed_per_filter_config![extAuthz!.name]!['check_settings']).toEqual({ context_extensions: { service: 'orders.shop' } });
  });

  test('every typed config is a v3 Envoy type', () => {
    const types = JSON.stringify(bootstrap).match(/"@type":"[^"]+"/g) ?? [];
    expect(types.length).toBeGreaterThanOrEqual(6);
    expect(types.filter((type) => !/^"@type":"type\.googleapis\.com\/envoy\.[a-z0-9_.]+\.v3\.[A-Za-z0-9]+"$/.test(type))).toEqual([]);
  });
});

type TypedConfig = { '@type': string } & Record<string, unknown>;

interface Bootstrap {
  static_resources: {
    listeners: {
      filter_chains: { transport_socket?: { typed_config: TypedConfig }; filters: { name: string; typed_config: TypedConfig }[] }[];
    }[];
    clusters: {
      name: string;
      typed_extension_protocol_options?: Record<string, TypedConfig>;
      load_assignment: { endpoints: { lb_endpoints: { endpoint: { address: { socket_address: { address: string; port_value: number } } } }[] }[] };
    }[];
  };
}

interface HttpConnectionManager {
  http_filters: { name: string; typed_config: TypedConfig }[];
  route_config: { virtual_hosts: { routes: { typed_per_filter_config?: Record<string, TypedConfig> }[] }[] };
}

interface ExtAuthz {
  grpc_service: { envoy_grpc: { cluster_name: string }; timeout?: string };
}
