/**
 * k8s/proxies/http-authz/ built the way kustomize builds it (kustomize-overlay.ts: the base, the
 * replaced config generator, the strategic merge and JSON 6902 patches), then read as a cluster
 * would: the pods mount the new config, which turns on HTTP authorization on the port the
 * container, the Service and the NetworkPolicy all open, and nothing of the base is lost.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../src/config.js';
import { buildBase } from './kustomize.js';
import { buildOverlay, jsonPatch, strategicMerge } from './kustomize-overlay.js';
import { k8sDir, type ManifestDoc } from './manifests.js';

interface Port {
  name?: string;
  port?: number;
  containerPort?: number;
  targetPort?: number | string;
  protocol?: string;
}
interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: { containers: { name: string; ports: Port[]; args?: string[] }[]; volumes: { name: string; configMap?: { name: string } }[] };
}

const overlay = buildOverlay('proxies/http-authz/');
const base = buildBase();
const key = (doc: ManifestDoc): string => `${String(doc.body['kind'])}/${(doc.body['metadata'] as { name: string }).name}`;
const find = <T>(docs: readonly ManifestDoc[], kind: string, prefix: string): T[] =>
  docs.filter((doc) => doc.body['kind'] === kind && (doc.body['metadata'] as { name: string }).name.startsWith(prefix)).map((doc) => doc.body as T);
const only = <T>(docs: readonly ManifestDoc[], kind: string, prefix: string): T => {
  const found = find<T>(docs, kind, prefix);
  expect(found).toHaveLength(1);
  return found[0]!;
};

const deployment = only<{ spec: { selector: { matchLabels: Record<string, string> }; template: PodTemplate } }>(overlay, 'Deployment', 'gatehouse');
const pod = deployment.spec.template;
const container = pod.spec.containers.find((c) => c.name === 'gatehouse')!;
const service = only<{ spec: { selector: Record<string, string>; ports: Port[] } }>(overlay, 'Service', 'gatehouse');
const networkPolicy = only<{ spec: { podSelector: { matchLabels: Record<string, string> }; ingress: { ports: Port[] }[] } }>(overlay, 'NetworkPolicy', 'gatehouse');
const configMap = only<{ metadata: { name: string; namespace: string }; data: Record<string, string> }>(overlay, 'ConfigMap', 'gatehouse-config-');
const config = parseConfig(parseYaml(configMap.data['config.yaml']!));
const authzPort = Number(config.httpAuthz.listen.slice(config.httpAuthz.listen.lastIndexOf(':') + 1));

test('the build holds every resource of the base, and no other', () => {
  const names = (docs: readonly ManifestDoc[]): string[] => docs.map(key).map((name) => name.replace(/^(ConfigMap\/gatehouse-config)-\w+$/, '$1')).sort();
  expect(names(overlay)).toEqual(names(base));
});

test('the generated config replaces the base\'s under a new hashed name, and the pods mount that one', () => {
  expect(configMap.data).toEqual({ 'config.yaml': readFileSync(join(k8sDir, 'proxies/http-authz/config.yaml'), 'utf8') });
  const baseConfigMap = only<{ metadata: { name: string } }>(base, 'ConfigMap', 'gatehouse-config-');
  expect(configMap.metadata.name).not.toBe(baseConfigMap.metadata.name);
  const mounted = pod.spec.volumes.filter((volume) => volume.configMap?.name.startsWith('gatehouse-config')).map((volume) => volume.configMap!.name);
  expect(mounted).toEqual([configMap.metadata.name]);
  // Every ConfigMap a pod mounts exists in the build.
  const configMaps = new Set(find<{ metadata: { name: string } }>(overlay, 'ConfigMap', '').map((cm) => cm.metadata.name));
  for (const volume of pod.spec.volumes) if (volume.configMap) expect(configMaps).toContain(volume.configMap.name);
});

test('the mounted config turns HTTP authorization on, on 9193', () => {
  expect(config.httpAuthz.enabled).toBe(true);
  expect(authzPort).toBe(9193);
  expect(parseConfig(parseYaml(only<{ data: Record<string, string> }>(base, 'ConfigMap', 'gatehouse-config-').data['config.yaml']!)).httpAuthz.enabled).toBe(false);
});

test('the container, the Service and the NetworkPolicy open that port, and keep the base\'s', () => {
  const baseContainer = only<{ spec: { template: PodTemplate } }>(base, 'Deployment', 'gatehouse').spec.template.spec.containers.find((c) => c.name === 'gatehouse')!;
  expect(container.ports).toEqual([...baseContainer.ports, { name: 'http-authz', containerPort: authzPort, protocol: 'TCP' }]);

  const baseService = only<{ spec: { ports: Port[] } }>(base, 'Service', 'gatehouse');
  expect(service.spec.ports.slice(0, baseService.spec.ports.length)).toEqual(baseService.spec.ports);
  const servicePort = service.spec.ports.find((port) => port.port === authzPort);
  expect(servicePort).toMatchObject({ name: 'http-authz', protocol: 'TCP' });
  // The Service's targetPort names a port of the container, which is the one gatehouse listens on.
  expect(container.ports.find((port) => port.name === servicePort!.targetPort)?.containerPort).toBe(authzPort);
  expect(Object.entries(service.spec.selector).every(([label, value]) => pod.metadata.labels[label] === value)).toBe(true);

  const baseIngress = only<{ spec: { ingress: unknown[] } }>(base, 'NetworkPolicy', 'gatehouse').spec.ingress;
  expect(networkPolicy.spec.ingress.slice(0, baseIngress.length)).toEqual(baseIngress);
  expect(networkPolicy.spec.ingress.flatMap((rule) => rule.ports).filter((port) => port.port === authzPort)).toEqual([{ port: authzPort, protocol: 'TCP' }]);
  expect(Object.entries(networkPolicy.spec.podSelector.matchLabels).every(([label, value]) => pod.metadata.labels[label] === value)).toBe(true);
});

test('the gRPC listener and the rest of the config are the base\'s', () => {
  const baseConfig = parseConfig(parseYaml(only<{ data: Record<string, string> }>(base, 'ConfigMap', 'gatehouse-config-').data['config.yaml']!));
  expect({ ...config, httpAuthz: baseConfig.httpAuthz }).toEqual(baseConfig);
  expect(config.httpAuthz.listen).not.toBe(config.listen);
  expect(config.httpAuthz.listen).not.toBe(config.httpListen);
});

describe('the emulation, on the cases the overlay relies on', () => {
  test.each<[string, string, unknown, unknown, unknown]>([
    ['a keyed list merges by its key', 'Service:spec.ports', [{ port: 1, name: 'a' }], [{ port: 2, name: 'b' }, { port: 1, protocol: 'TCP' }], [{ port: 1, name: 'a', protocol: 'TCP' }, { port: 2, name: 'b' }]],
    ['a list without a merge key is replaced whole', 'NetworkPolicy:spec.ingress', [{ ports: [1] }], [{ ports: [2] }], [{ ports: [2] }]],
    ['nested keyed lists merge inside their item', 'Deployment:spec.template.spec.containers', [{ name: 'c', ports: [{ containerPort: 1 }] }], [{ name: 'c', ports: [{ containerPort: 2 }] }], [{ name: 'c', ports: [{ containerPort: 1 }, { containerPort: 2 }] }]],
  ])('%s', (_name, path, base, patch, expected) => {
    const [kind, field] = path.split(':') as [string, string];
    const wrap = (value: unknown): unknown => field.split('.').reduceRight((inner, name) => ({ [name]: inner }), value);
    expect(strategicMerge(wrap(base), wrap(patch), `${kind}:`)).toEqual(wrap(expected));
  });

  test('null deletes a field; JSON 6902 add appends with -, and a missing path is an error', () => {
    expect(strategicMerge({ a: 1, b: 2 }, { b: null }, 'Service:')).toEqual({ a: 1 });
    const doc = { spec: { ingress: [{ ports: [1] }] } };
    jsonPatch(doc, { op: 'add', path: '/spec/ingress/-', value: { ports: [2] } }, 'test');
    expect(doc.spec.ingress).toEqual([{ ports: [1] }, { ports: [2] }]);
    expect(() => jsonPatch(doc, { op: 'add', path: '/spec/egress/-', value: {} }, 'test')).toThrow('does not exist');
    expect(() => jsonPatch(doc, { op: 'remove', path: '/spec/nothing' }, 'test')).toThrow('does not exist');
  });
});
