/**
 * The destination service as policies name it: `Service::"orders.shop"` in `Namespace::"shop"`.
 * Envoy's route can name it in `context_extensions["service"]`; otherwise it comes from the host.
 */
export interface ServiceName {
  readonly name: string;
  readonly namespace: string | undefined;
}

export function serviceFromRequest(contextExtensions: ReadonlyMap<string, string>, host: string): ServiceName {
  const named = contextExtensions.get('service');
  return parseServiceName(named !== undefined && named !== '' ? named : serviceNameFromHost(host));
}

/**
 * `orders.shop.svc.cluster.local:8080` and `orders.shop.svc` → `orders.shop`. Any other host is
 * kept whole, so `orders.shop.example.com` can never pass for a service of namespace `shop`.
 */
export function serviceNameFromHost(host: string): string {
  const withoutPort = host.startsWith('[') ? host : host.replace(/:\d*$/, '');
  const labels = withoutPort.toLowerCase().replace(/\.$/, '').split('.');
  const svc = labels.indexOf('svc');
  return svc === 2 ? labels.slice(0, 2).join('.') : labels.join('.');
}

/** Only the Kubernetes form `NAME.NAMESPACE` names a namespace. */
function parseServiceName(name: string): ServiceName {
  const labels = name.split('.');
  const namespace = labels.length === 2 && labels[0] !== '' && labels[1] !== '' ? labels[1] : undefined;
  return { name, namespace };
}
