/**
 * The destination service as policies name it: `Service::"orders.shop"` in `Namespace::"shop"`.
 * Envoy's route can name it in `context_extensions["service"]`; otherwise it comes from the host.
 */
export interface ServiceName {
  readonly name: string;
  readonly namespace: string | undefined;
  /** 'route' when the operator's route named it; 'host' when it comes from the caller's Host header. */
  readonly from: 'route' | 'host';
}

export function serviceFromRequest(contextExtensions: ReadonlyMap<string, string>, host: string): ServiceName {
  const named = contextExtensions.get('service');
  if (named !== undefined && named !== '') return namedService(named);
  let service = servicesOfHosts.get(host);
  if (service === undefined) {
    const name = serviceNameFromHost(host);
    service = Object.freeze({ name, namespace: namespaceOf(name), from: 'host' });
    if (host.length <= maxRememberedHost) {
      if (servicesOfHosts.size >= maxRememberedHosts) servicesOfHosts.clear();
      servicesOfHosts.set(host, service);
    }
  }
  return service;
}

/**
 * The service of each Host seen, worked out once: a proxy sends the same few hosts on every
 * request. Bounded in count and in length (a DNS name and a port), so no caller can grow it.
 */
const servicesOfHosts = new Map<string, ServiceName>();
const maxRememberedHosts = 1024;
const maxRememberedHost = 262;

/** A service named the way a route (or an inventory) names it: `orders.shop`. */
export function namedService(name: string): ServiceName {
  return { name, namespace: namespaceOf(name), from: 'route' };
}

/**
 * `orders.shop.svc.cluster.local:8080` and `orders.shop.svc` → `orders.shop`. Any other host is
 * kept whole, so neither `orders.shop.example.com` nor `orders.shop.svc.evil.example` can pass for
 * a service of namespace `shop`. Clusters with another domain name services in context_extensions.
 */
export function serviceNameFromHost(host: string): string {
  const withoutPort = host.startsWith('[') ? host : host.replace(/:\d*$/, '');
  const name = withoutPort.toLowerCase().replace(/\.$/, '');
  const match = /^([^.]+\.[^.]+)\.svc(?:\.cluster\.local)?$/.exec(name);
  return match ? match[1]! : name;
}

/** Only the Kubernetes form `NAME.NAMESPACE` (two non-empty labels) names a namespace. */
function namespaceOf(name: string): string | undefined {
  const dot = name.indexOf('.');
  return dot > 0 && dot < name.length - 1 && name.indexOf('.', dot + 1) === -1 ? name.slice(dot + 1) : undefined;
}
