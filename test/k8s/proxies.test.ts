/**
 * The proxy wiring of k8s/proxies/: every resource fits its published API types (the
 * @kubernetes-models packages, which check types, enums and required fields), every field name
 * of the authorization blocks is one the published types declare, and what the types cannot see
 * is field-checked: each proxy asks the gatehouse Service on the port of its wire, under the
 * path that wire is served on, and copies gatehouse's headers upstream. The NGINX snippet is
 * parsed, and checked by `nginx -t` where nginx is installed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecurityPolicy } from '@kubernetes-models/envoy-gateway/gateway.envoyproxy.io/v1alpha1';
import { Gateway, HTTPExternalAuthFilter, HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1';
import { ReferenceGrant } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1beta1';
import { AuthorizationPolicy } from '@kubernetes-models/istio/security.istio.io/v1';
import { IstioOperator } from '@kubernetes-models/istio/install.istio.io/v1alpha1';
import { Middleware } from '@kubernetes-models/traefik/traefik.io/v1alpha1';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1';
import type { IService } from 'kubernetes-models/v1';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../src/config.js';
import { modelTypeName, unknownFields } from './known-fields.js';
import { describeDoc, findDoc, k8sDir, readDocs, repoRoot, yamlFiles, type ManifestDoc } from './manifests.js';

type ModelCtor = new (data: never) => { validate(): void };

/** The published type of every resource a proxy file may hold. */
const publishedTypes: Record<string, ModelCtor> = {
  'gateway.envoyproxy.io/v1alpha1/SecurityPolicy': SecurityPolicy,
  'gateway.networking.k8s.io/v1/HTTPRoute': HTTPRoute,
  'gateway.networking.k8s.io/v1/Gateway': Gateway,
  'gateway.networking.k8s.io/v1beta1/ReferenceGrant': ReferenceGrant,
  'security.istio.io/v1/AuthorizationPolicy': AuthorizationPolicy,
  'install.istio.io/v1alpha1/IstioOperator': IstioOperator,
  'networking.k8s.io/v1/Ingress': Ingress,
  'traefik.io/v1alpha1/Middleware': Middleware,
};

const overlay = 'proxies/http-authz/';
const typeKey = (doc: ManifestDoc): string => `${String(doc.body['apiVersion'])}/${String(doc.body['kind'])}`;
const proxyFiles = yamlFiles().filter((file) => file.startsWith('proxies/'));
const snippetDocs = proxyFiles.filter((file) => !file.startsWith(overlay)).flatMap(readDocs);
const docsOf = (file: string): ManifestDoc[] => readDocs(`proxies/${file}`);

/**
 * The field names a type of a @kubernetes-models package declares, read from its .d.ts (one type
 * per file; its class lists inherited fields too).
 */
function declaredFields(modulePath: string): string[] {
  const text = readFileSync(join(repoRoot, 'node_modules', `${modulePath}.d.ts`), 'utf8');
  return [...new Set([...text.matchAll(/^ {4}"(\w+)"\??:/gm)].map((match) => match[1]!))];
}

function expectDeclared(value: object, modulePath: string): void {
  const declared = declaredFields(modulePath);
  expect(declared.length).toBeGreaterThan(0);
  expect({ modulePath, undeclared: Object.keys(value).filter((key) => !declared.includes(key)) }).toEqual({ modulePath, undeclared: [] });
}

const envoyGatewayTypes = '@kubernetes-models/envoy-gateway/gateway.envoyproxy.io/v1alpha1';
const gatewayApiTypes = '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1';

// gatehouse as the overlay deploys it: the base Service plus the overlay's port, and the overlay's config.
const baseService = findDoc<IService>(readDocs('service.yaml'), 'Service', 'gatehouse');
const servicePatch = findDoc<IService>(readDocs(`${overlay}service-port.yaml`), 'Service', 'gatehouse');
const servicePorts = Object.fromEntries([...baseService.spec!.ports!, ...servicePatch.spec!.ports!].map((port) => [port.name!, port.port]));
const grpcPort = servicePorts['grpc']!;
const httpAuthzPort = servicePorts['http-authz']!;
const overlayConfigText = readFileSync(join(k8sDir, overlay, 'config.yaml'), 'utf8');
const overlayConfig = parseConfig(parseYaml(overlayConfigText));
const envoyPathPrefix = overlayConfig.httpAuthz.envoyPathPrefix;
const serviceHost = `${baseService.metadata!.name}.${baseService.metadata!.namespace}.svc.cluster.local`;
const forwardAuthUrl = `http://${serviceHost}:${httpAuthzPort}/forward-auth`;
const gatehouseHeaders = ['x-gatehouse-principal', 'x-gatehouse-decision-id'];

describe('k8s/proxies/http-authz, the overlay that turns the HTTP authorization listener on', () => {
  const kustomization = docsOf('http-authz/kustomization.yaml')[0]!.body;

  test('builds on the base and replaces its config with one that differs only in httpAuthz', () => {
    expect(kustomization['resources']).toEqual(['../..']);
    expect(kustomization['configMapGenerator']).toEqual([{ name: 'gatehouse-config', namespace: 'gatehouse', behavior: 'replace', files: ['config.yaml'] }]);
    const base = parseYaml(readFileSync(join(k8sDir, 'config.yaml'), 'utf8')) as Record<string, unknown>;
    const { httpAuthz, ...rest } = parseYaml(overlayConfigText) as Record<string, unknown>;
    expect(rest).toEqual(base);
    expect(httpAuthz).toBeDefined();
  });

  test('gatehouse accepts the config: HTTP authorization on 9193, Envoy prefix /envoy, no proxy trusted by default', () => {
    expect(overlayConfig.httpAuthz).toMatchObject({ enabled: true, listen: '0.0.0.0:9193', envoyPathPrefix: '/envoy', trustedProxies: [] });
    expect(parseConfig({}).httpAuthz.envoyPathPrefix).toBe(envoyPathPrefix);
  });

  test('opens 9193 on the container, the Service and the NetworkPolicy, leaving the base ports alone', () => {
    const patches = kustomization['patches'] as { path?: string; target?: { kind: string; name: string }; patch?: string }[];
    expect(patches.map((patch) => patch.path ?? patch.target?.kind)).toEqual(['service-port.yaml', 'deployment-port.yaml', 'NetworkPolicy']);
    expect(servicePatch.spec!.ports).toEqual([{ name: 'http-authz', port: 9193, targetPort: 'http-authz', protocol: 'TCP', appProtocol: 'http' }]);
    expect(Object.keys(servicePorts)).toEqual(['grpc', 'http-metrics', 'http-authz']);
    const deployment = findDoc<{ spec: { template: { spec: { containers: { name: string; ports: unknown[] }[] } } } }>(docsOf('http-authz/deployment-port.yaml'), 'Deployment', 'gatehouse');
    expect(deployment.spec.template.spec.containers).toEqual([{ name: 'gatehouse', ports: [{ name: 'http-authz', containerPort: httpAuthzPort, protocol: 'TCP' }] }]);
    expect(Number(overlayConfig.httpAuthz.listen.split(':').at(-1))).toBe(httpAuthzPort);
    expect(parseYaml(patches[2]!.patch!)).toEqual([
      { op: 'add', path: '/spec/ingress/-', value: { from: [{ namespaceSelector: {} }], ports: [{ port: httpAuthzPort, protocol: 'TCP' }] } },
    ]);
  });

  test('the patches use only Kubernetes API field names', () => {
    for (const file of ['service-port.yaml', 'deployment-port.yaml']) {
      for (const doc of docsOf(`http-authz/${file}`)) {
        expect(unknownFields(modelTypeName(String(doc.body['apiVersion']), String(doc.body['kind'])), doc.body)).toEqual([]);
      }
    }
  });
});

describe('every resource in k8s/proxies/', () => {
  test('is of a type with published schemas, and none is in the base kustomization', () => {
    expect(snippetDocs.filter((doc) => !(typeKey(doc) in publishedTypes)).map(describeDoc)).toEqual([]);
    expect(snippetDocs.length).toBeGreaterThanOrEqual(10);
    const base = parseYaml(readFileSync(join(k8sDir, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
    expect(base.resources.filter((file) => file.startsWith('proxies'))).toEqual([]);
  });

  test.each(snippetDocs.map((doc) => [describeDoc(doc), doc] as const))('%s fits its published schema', (_name, doc) => {
    const Model = publishedTypes[typeKey(doc)]!;
    expect(() => new Model(withoutExternalAuth(doc.body) as never).validate()).not.toThrow();
  });

  test('the schema check finds a wrong type and a value outside an enum', () => {
    const policy = structuredClone(findDoc<Record<string, { extAuth: { failOpen: unknown } }>>(docsOf('envoy-gateway-securitypolicy-grpc.yaml'), 'SecurityPolicy', 'gatehouse'));
    policy['spec']!.extAuth.failOpen = 'no';
    expect(() => new SecurityPolicy(policy as never).validate()).toThrow();
    const ingress = structuredClone(findDoc<Record<string, { rules: { http: { paths: { pathType: string }[] } }[] }>>(docsOf('ingress-nginx-ingress.yaml'), 'Ingress', 'orders'));
    ingress['spec']!.rules[0]!.http.paths[0]!.pathType = 'Prefixed';
    expect(() => new Ingress(ingress as never).validate()).toThrow();
  });

  test('a backendRef into namespace gatehouse is allowed by the ReferenceGrant', () => {
    const grant = findDoc<{ spec: { from: { group: string; kind: string; namespace: string }[]; to: { group: string; kind: string; name: string }[] } }>(
      docsOf('gateway-api-referencegrant.yaml'),
      'ReferenceGrant',
      'gatehouse-authz-backend',
    );
    expect(grant.spec.to).toEqual([{ group: '', kind: 'Service', name: baseService.metadata!.name }]);
    const referrers = snippetDocs.filter((doc) => ['SecurityPolicy', 'HTTPRoute'].includes(String(doc.body['kind'])));
    expect(referrers.length).toBe(3);
    for (const doc of referrers) {
      const group = String(doc.body['apiVersion']).split('/')[0];
      const namespace = (doc.body['metadata'] as { namespace: string }).namespace;
      expect(grant.spec.from).toContainEqual({ group, kind: doc.body['kind'], namespace });
    }
  });
});

interface BackendRef {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  port?: number;
}

describe('Envoy Gateway SecurityPolicy', () => {
  interface ExtAuth {
    grpc?: { backendRefs: BackendRef[] };
    http?: { backendRefs: BackendRef[]; path: string; headersToBackend: string[] };
    headersToExtAuth?: string[];
    contextExtensions?: { name: string; type: string; value: string }[];
    failOpen?: boolean;
    timeout?: string;
  }
  type Policy = { spec: { targetRefs: unknown[]; extAuth: ExtAuth } };
  const grpc = findDoc<Policy>(docsOf('envoy-gateway-securitypolicy-grpc.yaml'), 'SecurityPolicy', 'gatehouse').spec;
  const http = findDoc<Policy>(docsOf('envoy-gateway-securitypolicy-http.yaml'), 'SecurityPolicy', 'gatehouse-http').spec;
  const gatehouse = { group: '', kind: 'Service', name: 'gatehouse', namespace: 'gatehouse' };

  test('uses only the fields ExtAuth and its services declare', () => {
    for (const spec of [grpc, http]) {
      expectDeclared(spec, `${envoyGatewayTypes}/SecurityPolicySpec`);
      expectDeclared(spec.extAuth, `${envoyGatewayTypes}/ExtAuth`);
    }
    expectDeclared(grpc.extAuth.grpc!, `${envoyGatewayTypes}/GRPCExtAuthService`);
    expectDeclared(http.extAuth.http!, `${envoyGatewayTypes}/HTTPExtAuthService`);
    expectDeclared(grpc.extAuth.grpc!.backendRefs[0]!, `${envoyGatewayTypes}/BackendRef`);
  });

  test('gRPC: asks the gatehouse Service on its gRPC port, per route context, failing closed', () => {
    expect(grpc.extAuth.grpc!.backendRefs).toEqual([{ ...gatehouse, port: grpcPort }]);
    expect(grpc.extAuth.http).toBeUndefined();
    expect(grpc.extAuth.contextExtensions).toEqual([{ name: 'service', type: 'Value', value: 'orders.shop' }]);
    expect(grpc.extAuth.failOpen).toBe(false);
    expect(grpc.extAuth.timeout).toMatch(/^\d+ms$/);
  });

  test('HTTP: asks port 9193 under envoyPathPrefix and copies gatehouse\'s headers upstream, failing closed', () => {
    expect(http.extAuth.http!.backendRefs).toEqual([{ ...gatehouse, port: httpAuthzPort }]);
    expect(http.extAuth.grpc).toBeUndefined();
    expect(http.extAuth.http!.path).toBe(envoyPathPrefix);
    expect(http.extAuth.http!.headersToBackend).toEqual(expect.arrayContaining(gatehouseHeaders));
    expect(http.extAuth.headersToExtAuth).toContain('authorization');
    expect(http.extAuth.failOpen).toBe(false);
  });

  test('both guard the same route', () => {
    expect(grpc.targetRefs).toEqual([{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'orders' }]);
    expect(http.targetRefs).toEqual(grpc.targetRefs);
  });
});

/**
 * An HTTPRoute without its ExternalAuth filters. @kubernetes-models/gateway-api 2 has the filter's
 * schema (HTTPRouteFilter.externalAuth, HTTPExternalAuthFilter) but the standard channel's enum of
 * filter types, which lacks the experimental `ExternalAuth`: the route is checked without those
 * filters, and each filter's `externalAuth` on its own below.
 */
function withoutExternalAuth(body: Record<string, unknown>): Record<string, unknown> {
  if (body['kind'] !== 'HTTPRoute') return body;
  const copy = structuredClone(body) as { spec: { rules: { filters?: { type: string }[] }[] } };
  for (const rule of copy.spec.rules) {
    if (rule.filters) rule.filters = rule.filters.filter((filter) => filter.type !== 'ExternalAuth');
  }
  return copy as unknown as Record<string, unknown>;
}

describe('Gateway API HTTPRoute with the ExternalAuth filter', () => {
  // ExternalAuth is in the experimental channel's CRD of HTTPRoute, still gateway.networking.k8s.io/v1;
  // @kubernetes-models/gateway-api 2 generates that channel, so the schema check covers the filter.
  type Filter = { type: string; externalAuth?: { protocol: string; backendRef: BackendRef; http?: { path: string; allowedHeaders?: string[]; allowedResponseHeaders: string[] } } };
  const route = findDoc<{ spec: { rules: { filters?: Filter[] }[] } }>(docsOf('gateway-api-httproute-externalauth.yaml'), 'HTTPRoute', 'orders');
  const filters = route.spec.rules.flatMap((rule) => rule.filters ?? []);

  test('every rule runs one ExternalAuth filter, with only the fields HTTPExternalAuthFilter declares', () => {
    expect(route.spec.rules.map((rule) => (rule.filters ?? []).filter((filter) => filter.type === 'ExternalAuth').length)).toEqual(route.spec.rules.map(() => 1));
    for (const filter of filters) {
      expectDeclared(filter.externalAuth!, `${gatewayApiTypes}/HTTPExternalAuthFilter`);
      expectDeclared(filter.externalAuth!.http!, `${gatewayApiTypes}/HTTPAuthConfig`);
    }
  });

  test.each(filters.map((filter, index) => [index, filter] as const))('filter %d fits the published HTTPExternalAuthFilter schema', (_index, filter) => {
    expect(() => new HTTPExternalAuthFilter(filter.externalAuth!).validate()).not.toThrow();
    const broken = structuredClone(filter.externalAuth!) as Partial<NonNullable<Filter['externalAuth']>>;
    delete broken.backendRef;
    expect(() => new HTTPExternalAuthFilter(broken as never).validate()).toThrow();
  });

  test('`ExternalAuth` is the experimental channel\'s filter type, not yet in the published enum', () => {
    // When this starts to pass validation, the package has the experimental channel: drop withoutExternalAuth.
    expect(declaredFields(`${gatewayApiTypes}/HTTPRouteFilter`)).toContain('externalAuth');
    const full = findDoc<Record<string, unknown>>(docsOf('gateway-api-httproute-externalauth.yaml'), 'HTTPRoute', 'orders');
    expect(() => new HTTPRoute(full as never).validate()).toThrow(/filters\/0\/type must be equal to one of the allowed values/);
    expect(filters.map((filter) => filter.type)).toEqual(['ExternalAuth']);
  });

  test('HTTP: the gatehouse Service on 9193 under envoyPathPrefix, copying gatehouse\'s headers upstream', () => {
    for (const filter of filters) {
      expect(filter.externalAuth!.protocol).toBe('HTTP');
      expect(filter.externalAuth!.backendRef).toEqual({ group: '', kind: 'Service', name: 'gatehouse', namespace: 'gatehouse', port: httpAuthzPort });
      expect(filter.externalAuth!.http!.path).toBe(envoyPathPrefix);
      expect(filter.externalAuth!.http!.allowedResponseHeaders).toEqual(expect.arrayContaining(gatehouseHeaders));
    }
  });
});

describe('Istio over HTTP and ambient', () => {
  /** istio.mesh.v1alpha1 MeshConfig.ExtensionProvider.EnvoyExternalAuthorizationHttpProvider (not in the CRD schema: meshConfig is free-form there). */
  const httpProviderFields = [
    'service',
    'port',
    'timeout',
    'pathPrefix',
    'failOpen',
    'statusOnError',
    'includeRequestHeadersInCheck',
    'includeAdditionalHeadersInCheck',
    'includeRequestBodyInCheck',
    'headersToUpstreamOnAllow',
    'headersToDownstreamOnDeny',
    'headersToDownstreamOnAllow',
  ];
  type Provider = { name: string; envoyExtAuthzHttp?: Record<string, unknown>; envoyExtAuthzGrpc?: Record<string, unknown> };
  type Operator = { spec: { meshConfig: { extensionProviders: Provider[] } } };
  const providers = findDoc<Operator>(docsOf('istio-meshconfig-http-provider.yaml'), 'IstioOperator', 'gatehouse-http-extension-provider').spec.meshConfig.extensionProviders;
  const grpcProviders = findDoc<Operator>(readDocs('istio/meshconfig-extension-provider.yaml'), 'IstioOperator', 'gatehouse-extension-provider').spec.meshConfig.extensionProviders;
  type Policy = { spec: { action: string; provider: { name: string }; rules: unknown[]; selector?: unknown; targetRefs?: { group: string; kind: string; name: string }[] } };

  test('registers gatehouse-http: the Service on 9193 under envoyPathPrefix, failing closed with 503', () => {
    expect(providers.map((provider) => provider.name)).toEqual(['gatehouse-http']);
    const http = providers[0]!.envoyExtAuthzHttp!;
    expect(Object.keys(http).filter((key) => !httpProviderFields.includes(key))).toEqual([]);
    expect(http).toMatchObject({ service: serviceHost, port: httpAuthzPort, pathPrefix: envoyPathPrefix, failOpen: false, statusOnError: '503' });
    expect(parseFloat(String(http['timeout']))).toBeLessThanOrEqual(1);
  });

  test('sends the credentials and copies gatehouse\'s headers upstream and its deny headers back', () => {
    const http = providers[0]!.envoyExtAuthzHttp!;
    expect(http['includeRequestHeadersInCheck']).toEqual(expect.arrayContaining(['authorization', 'x-forwarded-client-cert']));
    expect(http['headersToUpstreamOnAllow']).toEqual(expect.arrayContaining(gatehouseHeaders));
    expect(http['headersToDownstreamOnDeny']).toEqual(expect.arrayContaining(['www-authenticate', 'x-gatehouse-decision-id']));
  });

  test('the sidecar policy is CUSTOM with gatehouse-http, matching every request', () => {
    const policy = findDoc<Policy>(docsOf('istio-authorizationpolicy-http.yaml'), 'AuthorizationPolicy', 'gatehouse-http').spec;
    expect(policy).toEqual({ action: 'CUSTOM', provider: { name: 'gatehouse-http' }, rules: [{}] });
  });

  test('ambient: a waypoint for the namespace\'s services, and a CUSTOM policy bound to it by targetRefs', () => {
    const docs = docsOf('istio-ambient-waypoint.yaml');
    const waypoint = findDoc<{ metadata: { namespace: string; labels: Record<string, string> }; spec: { gatewayClassName: string; listeners: unknown[] } }>(docs, 'Gateway', 'waypoint');
    expect(waypoint.spec).toEqual({ gatewayClassName: 'istio-waypoint', listeners: [{ name: 'mesh', port: 15008, protocol: 'HBONE' }] });
    expect(waypoint.metadata.labels['istio.io/waypoint-for']).toBe('service');
    const policy = findDoc<Policy & { metadata: { namespace: string } }>(docs, 'AuthorizationPolicy', 'gatehouse-waypoint');
    expect(policy.metadata.namespace).toBe(waypoint.metadata.namespace);
    expect(policy.spec.targetRefs).toEqual([{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'waypoint' }]);
    expect(policy.spec.selector).toBeUndefined();
    expect(policy.spec).toMatchObject({ action: 'CUSTOM', rules: [{}] });
    // The provider it names is registered: the gRPC one of k8s/istio/.
    expect([...grpcProviders, ...providers].map((provider) => provider.name)).toContain(policy.spec.provider.name);
    expect(grpcProviders.find((provider) => provider.name === policy.spec.provider.name)?.envoyExtAuthzGrpc?.['port']).toBe(grpcPort);
  });
});

describe('ingress-nginx annotations', () => {
  const ingress = findDoc<{ apiVersion: string; kind: string; metadata: { annotations: Record<string, string> } }>(docsOf('ingress-nginx-ingress.yaml'), 'Ingress', 'orders');
  const annotations = ingress.metadata.annotations;

  test('uses only Kubernetes API field names', () => {
    expect(unknownFields(modelTypeName(ingress.apiVersion, ingress.kind), ingress)).toEqual([]);
  });

  test('auth-url is gatehouse\'s /forward-auth on 9193, auth-method GET', () => {
    expect(annotations['nginx.ingress.kubernetes.io/auth-url']).toBe(forwardAuthUrl);
    expect(annotations['nginx.ingress.kubernetes.io/auth-method']).toBe('GET');
  });

  test('auth-response-headers copies gatehouse\'s headers upstream', () => {
    const copied = annotations['nginx.ingress.kubernetes.io/auth-response-headers']!.split(',').map((name) => name.trim());
    expect(copied).toEqual(expect.arrayContaining(gatehouseHeaders));
    expect(copied.every((name) => name.startsWith('x-gatehouse-'))).toBe(true);
  });

  test('sets only annotations ingress-nginx knows', () => {
    const known = ['auth-url', 'auth-method', 'auth-response-headers'].map((name) => `nginx.ingress.kubernetes.io/${name}`);
    expect(Object.keys(annotations).filter((key) => !known.includes(key))).toEqual([]);
  });
});

describe('Traefik Middleware', () => {
  const forwardAuth = findDoc<{ spec: { forwardAuth: { address: string; trustForwardHeader: boolean; authResponseHeaders: string[] } } }>(docsOf('traefik-middleware.yaml'), 'Middleware', 'gatehouse').spec.forwardAuth;

  test('uses only the fields ForwardAuth declares', () => {
    expectDeclared(forwardAuth, '@kubernetes-models/traefik/traefik.io/v1alpha1/ForwardAuth');
  });

  test('asks gatehouse\'s /forward-auth on 9193, setting X-Forwarded-* itself, and copies gatehouse\'s headers upstream', () => {
    expect(forwardAuth.address).toBe(forwardAuthUrl);
    expect(forwardAuth.trustForwardHeader).toBe(false);
    expect(forwardAuth.authResponseHeaders).toEqual(expect.arrayContaining(gatehouseHeaders));
  });
});

/** An nginx configuration as nested directives: `name args… ;` or `name args… { … }`. */
interface NginxDirective {
  readonly name: string;
  readonly args: string[];
  readonly block?: NginxDirective[];
}

function parseNginx(text: string): NginxDirective[] {
  const tokens = [...text.replace(/#[^\n]*/g, '').matchAll(/"(?:[^"\\]|\\.)*"|'[^']*'|[{};]|[^\s{};]+/g)].map((match) => match[0]);
  let position = 0;
  const parseBlock = (nested: boolean): NginxDirective[] => {
    const directives: NginxDirective[] = [];
    while (position < tokens.length) {
      const token = tokens[position++]!;
      if (token === '}') {
        if (!nested) throw new Error('unbalanced }');
        return directives;
      }
      const words = [token];
      while (position < tokens.length && tokens[position] !== ';' && tokens[position] !== '{') words.push(tokens[position++]!);
      const end = tokens[position++];
      const [name, ...args] = words.map((word) => word.replace(/^"(.*)"$/, '$1'));
      if (end === '{') directives.push({ name: name!, args, block: parseBlock(true) });
      else if (end === ';') directives.push({ name: name!, args });
      else throw new Error(`directive ${name} has no ; or {`);
    }
    if (nested) throw new Error('unclosed {');
    return directives;
  };
  return parseBlock(false);
}

describe('the NGINX auth_request snippet', () => {
  const text = readFileSync(join(k8sDir, 'proxies/nginx-auth-request.conf'), 'utf8');
  const top = parseNginx(text);
  const one = (directives: readonly NginxDirective[], name: string, ...args: string[]): NginxDirective => {
    const found = directives.filter((directive) => directive.name === name && args.every((arg, index) => directive.args[index] === arg));
    if (found.length !== 1) throw new Error(`expected one ${[name, ...args].join(' ')}, found ${found.length}`);
    return found[0]!;
  };
  const server = one(top, 'server').block!;
  const auth = one(server, 'location', '=', '/_gatehouse').block!;
  const root = one(server, 'location', '/').block!;

  test('holds http-level blocks only: two upstreams and one server', () => {
    expect(top.map((directive) => `${directive.name} ${directive.args.join(' ')}`)).toEqual(['upstream gatehouse_authz', 'upstream orders', 'server ']);
  });

  test('the auth location is internal and asks /forward-auth on the gatehouse Service\'s 9193, without the body', () => {
    expect(one(one(top, 'upstream', 'gatehouse_authz').block!, 'server').args[0]).toBe(`${serviceHost}:${httpAuthzPort}`);
    expect(one(auth, 'internal').args).toEqual([]);
    expect(one(auth, 'proxy_pass').args).toEqual(['http://gatehouse_authz/forward-auth']);
    expect(one(auth, 'proxy_pass_request_body').args).toEqual(['off']);
    expect(one(auth, 'proxy_set_header', 'Content-Length').args).toEqual(['Content-Length', '']);
  });

  test('sends the original request as ingress-nginx does: X-Original-URL and X-Original-Method', () => {
    expect(one(auth, 'proxy_set_header', 'X-Original-URL').args[1]).toBe('$scheme://$http_host$request_uri');
    expect(one(auth, 'proxy_set_header', 'X-Original-Method').args[1]).toBe('$request_method');
  });

  test('every other request waits for the answer and carries gatehouse\'s headers upstream, set from the answer', () => {
    expect(one(root, 'auth_request').args).toEqual(['/_gatehouse']);
    for (const header of gatehouseHeaders) {
      const variable = `$${header.replaceAll('-', '_').replace('x_', '')}`;
      expect(one(root, 'auth_request_set', variable).args[1]).toBe(`$upstream_http_${header.replaceAll('-', '_')}`);
      const set = root.find((directive) => directive.name === 'proxy_set_header' && directive.args[0]?.toLowerCase() === header);
      expect(set?.args[1]).toBe(variable);
    }
  });

  const nginx = (() => {
    try {
      return execFileSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  })();
  (nginx === '' ? test.skip : test)('nginx -t accepts it inside http { }', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-nginx-'));
    try {
      // Resolvable names and an unprivileged port for the check; the rest is the file as shipped.
      const local = text.replaceAll(serviceHost, '127.0.0.1').replaceAll('orders.shop.svc.cluster.local', '127.0.0.1').replace('listen 8080;', 'listen 127.0.0.1:18080;');
      writeFileSync(join(dir, 'snippet.conf'), local);
      writeFileSync(
        join(dir, 'nginx.conf'),
        `pid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents { worker_connections 16; }\nhttp {\n  access_log off;\n  client_body_temp_path ${dir}/body;\n  proxy_temp_path ${dir}/proxy;\n  fastcgi_temp_path ${dir}/fastcgi;\n  uwsgi_temp_path ${dir}/uwsgi;\n  scgi_temp_path ${dir}/scgi;\n  include ${dir}/snippet.conf;\n}\n`,
      );
      const result = spawnSync(nginx, ['-t', '-p', dir, '-c', join(dir, 'nginx.conf')], { encoding: 'utf8' });
      expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: expect.stringContaining('test is successful') as unknown });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
