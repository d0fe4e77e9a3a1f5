/**
 * The Kubernetes manifests under k8s/: every document fits the published API types, the base
 * kustomization applies what it should, and the properties an operator relies on (non-root,
 * read-only, least privilege, probes, graceful drain, policies equal to policies/) hold.
 * No cluster is involved: docs/deploy.md says how to verify on a real one.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuthorizationPolicy } from '@kubernetes-models/istio/security.istio.io/v1';
import { IstioOperator } from '@kubernetes-models/istio/install.istio.io/v1alpha1';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler, type IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { NetworkPolicy, type INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget, type IPodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ClusterRole, ClusterRoleBinding, type IClusterRole, type IClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, Namespace, Service, ServiceAccount, type IConfigMap, type IContainer, type INamespace, type IService } from 'kubernetes-models/v1';
import { parse as parseYaml } from 'yaml';
import { parseConfig, type Config } from '../../src/config.js';
import { PolicyEngine } from '../../src/policy/cedar/engine.js';
import { planProcesses, primaryMiB, workerMiB } from '../../src/serve/process-plan.js';
import { formatProblem } from '../../src/policy/problem.js';
import { modelTypeName, unknownFields } from './known-fields.js';
import { buildBase, configMapHash, generatorFile, overrideImage, readKustomization } from './kustomize.js';
import { allDocs, describeDoc, findDoc, k8sDir, readDocs, repoRoot, yamlFiles, type ManifestDoc } from './manifests.js';

type ModelCtor = new (data: never) => { validate(): void };

/** Every API type the manifests may use; a document of any other type fails the suite. */
const kubernetesTypes: Record<string, ModelCtor> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
};

/** Istio's custom resources, checked against the CRD schemas Istio publishes. */
const istioTypes: Record<string, ModelCtor> = {
  'security.istio.io/v1/AuthorizationPolicy': AuthorizationPolicy,
  'install.istio.io/v1alpha1/IstioOperator': IstioOperator,
};

const clusterScopedKinds = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding']);

function typeKey(doc: ManifestDoc): string {
  return `${String(doc.body['apiVersion'])}/${String(doc.body['kind'])}`;
}

function isKustomization(doc: ManifestDoc): boolean {
  return doc.body['kind'] === 'Kustomization';
}

function isEnvoyBootstrap(doc: ManifestDoc): boolean {
  return doc.body['kind'] === undefined && 'static_resources' in doc.body;
}

const kustomization = readKustomization();
/** Files a configMapGenerator reads (config.yaml): data, not manifests. */
const generatorInputs = new Set(kustomization.configMapGenerator.flatMap((generator) => (generator.files ?? []).map((entry) => generatorFile(entry).path)));
const baseFiles = kustomization.resources;
const baseDocs = buildBase();
const generatedDocs = baseDocs.filter((doc) => !baseFiles.includes(doc.file));
/** proxies/ holds opt-in wiring for other proxies, checked by proxies.test.ts against their own published types. */
const docs = [...allDocs().filter((doc) => !generatorInputs.has(doc.file) && !doc.file.startsWith('proxies/')), ...generatedDocs];
const kubernetesDocs = docs.filter((doc) => typeKey(doc) in kubernetesTypes);
const istioDocs = docs.filter((doc) => typeKey(doc) in istioTypes);
const configMapName = (docs: readonly ManifestDoc[], generator: string): string => {
  const found = docs.filter((doc) => doc.body['kind'] === 'ConfigMap' && (doc.body['metadata'] as { name: string }).name.startsWith(`${generator}-`));
  if (found.length !== 1) throw new Error(`expected one generated ConfigMap ${generator}-…, found ${found.length}`);
  return (found[0]!.body['metadata'] as { name: string }).name;
};
const generatedConfigName = configMapName(baseDocs, 'gatehouse-config');

describe('every YAML document under k8s/', () => {
  test('is a Kubernetes object of a known type, an Istio resource, the kustomization or the Envoy bootstrap', () => {
    const unclassified = docs
      .filter((doc) => !(typeKey(doc) in kubernetesTypes || typeKey(doc) in istioTypes || isKustomization(doc) || isEnvoyBootstrap(doc)))
      .map(describeDoc);
    expect(unclassified).toEqual([]);
    expect(docs.length).toBeGreaterThanOrEqual(14);
  });

  test.each(kubernetesDocs.map((doc) => [describeDoc(doc), doc] as const))('%s fits the Kubernetes API schema', (_name, doc) => {
    const Model = kubernetesTypes[typeKey(doc)]!;
    expect(() => new Model(doc.body as never).validate()).not.toThrow();
    expect(unknownFields(modelTypeName(String(doc.body['apiVersion']), String(doc.body['kind'])), doc.body)).toEqual([]);
  });

  test.each(istioDocs.map((doc) => [describeDoc(doc), doc] as const))('%s fits the Istio CRD schema', (_name, doc) => {
    const Model = istioTypes[typeKey(doc)]!;
    expect(() => new Model(doc.body as never).validate()).not.toThrow();
  });

  test.each(kubernetesDocs.map((doc) => [describeDoc(doc), doc] as const))('%s is in namespace gatehouse unless cluster-scoped', (_name, doc) => {
    const metadata = doc.body['metadata'] as { namespace?: string };
    expect(metadata.namespace).toBe(clusterScopedKinds.has(String(doc.body['kind'])) ? undefined : 'gatehouse');
  });

  test('the schema check itself finds a misspelt field and a wrong type', () => {
    const deployment = structuredClone(findDoc<IDeployment>(baseDocs, 'Deployment', 'gatehouse'));
    const container = deployment.spec!.template.spec!.containers[0]! as unknown as Record<string, unknown>;
    container['readinesProbe'] = container['readinessProbe'];
    expect(unknownFields('V1Deployment', deployment)).toEqual(['.spec.template.spec.containers[0].readinesProbe: not a field of V1Container']);
    container['ports'] = 'grpc';
    expect(() => new Deployment(deployment).validate()).toThrow();
  });
});

describe('kustomization.yaml', () => {
  test('lists files that exist, each once', () => {
    expect(baseFiles.filter((file) => !existsSync(join(k8sDir, file)))).toEqual([]);
    expect(new Set(baseFiles).size).toBe(baseFiles.length);
  });

  test('applies every top-level manifest and nothing from optional/, istio/, envoy/ or proxies/', () => {
    const topLevel = yamlFiles().filter((file) => !file.includes('/') && file !== 'kustomization.yaml' && !generatorInputs.has(file));
    expect([...baseFiles].sort()).toEqual(topLevel);
  });

  test('names no object twice', () => {
    const ids = baseDocs.map((doc) => `${typeKey(doc)} ${JSON.stringify(doc.body['metadata'])}`);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test('leaves namespaces and labels as the files write them', () => {
    expect(Object.keys(kustomization.body).sort()).toEqual(['apiVersion', 'configMapGenerator', 'images', 'kind', 'resources']);
  });

  test('generates gatehouse-config from config.yaml, in namespace gatehouse, its name suffixed with a hash of the content', () => {
    expect(kustomization.configMapGenerator).toEqual([
      { name: 'gatehouse-config', namespace: 'gatehouse', files: ['config.yaml'], options: { labels: { 'app.kubernetes.io/name': 'gatehouse' } } },
    ]);
    expect(generatedConfigName).toMatch(/^gatehouse-config-[b-df-z2-9]{10}$/);
    const configMap = findDoc<IConfigMap>(baseDocs, 'ConfigMap', generatedConfigName);
    expect(configMap.data).toEqual({ 'config.yaml': readFileSync(join(k8sDir, 'config.yaml'), 'utf8') });
  });

  test('the name suffix is kustomize\'s: its hasher test vector, keys in any order', () => {
    // sigs.k8s.io/kustomize/api/hasher, TestConfigMapHash, case "one key".
    expect(configMapHash('', { one: '' })).toBe('9g67k2htb6');
    expect(configMapHash('cm', { b: '1', a: '<&>' })).toBe(configMapHash('cm', { a: '<&>', b: '1' }));
  });

  test('a config edit changes the name the Deployment mounts, so the pods roll; the policies keep theirs', () => {
    const mounted = (built: readonly ManifestDoc[]) =>
      Object.fromEntries((findDoc<IDeployment>(built, 'Deployment', 'gatehouse').spec!.template.spec!.volumes ?? []).map((volume) => [volume.name, volume.configMap?.name]));
    const edited = buildBase({ 'config.yaml': `${readFileSync(join(k8sDir, 'config.yaml'), 'utf8')}mode: dry-run\n` });
    expect(mounted(baseDocs)).toMatchObject({ config: generatedConfigName, policies: 'gatehouse-policies' });
    expect(mounted(edited)).toMatchObject({ config: configMapName(edited, 'gatehouse-config'), policies: 'gatehouse-policies' });
    expect(configMapName(edited, 'gatehouse-config')).not.toBe(generatedConfigName);
    expect(buildBase().map((doc) => doc.body)).toEqual(baseDocs.map((doc) => doc.body));
  });

  test('no pod template keeps a hand-made hash of the config', () => {
    const annotations = findDoc<IDeployment>(baseDocs, 'Deployment', 'gatehouse').spec!.template.metadata!.annotations ?? {};
    expect(Object.keys(annotations).filter((key) => key.startsWith('gatehouse.io/'))).toEqual([]);
  });

  test('images names the image the Deployment runs, so `kustomize edit set image` replaces it', () => {
    const written = findDoc<IDeployment>(readDocs('deployment.yaml'), 'Deployment', 'gatehouse').spec!.template.spec!.containers[0]!.image!;
    expect(kustomization.images).toEqual([{ name: written.replace(/:[^:/]+$/, ''), newName: 'ghcr.io/gatehouse/gatehouse', newTag: '0.1.0' }]);
    expect(overrideImage(written, [{ name: 'ghcr.io/gatehouse/gatehouse', newName: 'registry.example.com/gatehouse', newTag: '1.2.3' }])).toBe('registry.example.com/gatehouse:1.2.3');
  });
});

describe('the Deployment', () => {
  const deployment = findDoc<IDeployment>(baseDocs, 'Deployment', 'gatehouse');
  const pod = deployment.spec!.template.spec!;
  const podLabels = deployment.spec!.template.metadata!.labels!;
  const container: IContainer = pod.containers[0]!;
  const config = loadedConfig();

  test('runs one container, the placeholder image, as `gatehouse serve --config /etc/gatehouse/config.yaml`', () => {
    expect(pod.containers).toHaveLength(1);
    expect(pod.initContainers ?? []).toEqual([]);
    expect(container.image).toBe('ghcr.io/gatehouse/gatehouse:0.1.0');
    expect(container.command).toBeUndefined();
    expect(container.args).toEqual(['serve', '--config', '/etc/gatehouse/config.yaml']);
  });

  test('runs as user 10001, never root, with no privilege to gain', () => {
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 10001,
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext?.capabilities?.add ?? []).toEqual([]);
    expect(pod.hostNetwork ?? false).toBe(false);
    expect(pod.hostPID ?? false).toBe(false);
  });

  test('listens where its config says: gRPC 9191, HTTP 9192', () => {
    expect(container.ports).toEqual([
      { name: 'grpc', containerPort: portOf(config.listen), protocol: 'TCP' },
      { name: 'http-metrics', containerPort: portOf(config.httpListen), protocol: 'TCP' },
    ]);
    expect([portOf(config.listen), portOf(config.httpListen)]).toEqual([9191, 9192]);
  });

  test('is probed on the HTTP port: startup and liveness on /healthz, readiness on /readyz', () => {
    expect(container.startupProbe?.httpGet).toEqual({ path: '/healthz', port: 9192 });
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 9192 });
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 9192 });
  });

  test('keeps serving while proxies forget it, then drains within the grace period', () => {
    const preStopSeconds = container.lifecycle?.preStop?.sleep?.seconds;
    expect(preStopSeconds).toBeGreaterThanOrEqual(3);
    expect(container.lifecycle?.preStop?.exec).toBeUndefined();
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(preStopSeconds! + config.shutdownGraceSeconds);
  });

  test('mounts the config and the policies read-only, and a scratch /tmp', () => {
    const mounts = Object.fromEntries((container.volumeMounts ?? []).map((mount) => [mount.mountPath, mount]));
    const volumes = Object.fromEntries((pod.volumes ?? []).map((volume) => [volume.name, volume]));
    expect(mounts['/etc/gatehouse']).toMatchObject({ name: 'config', readOnly: true });
    expect(mounts['/etc/gatehouse/policies']).toMatchObject({ name: 'policies', readOnly: true });
    expect(mounts['/tmp']).toMatchObject({ name: 'tmp' });
    expect(Object.values(mounts).filter((mount) => mount.subPath !== undefined || mount.subPathExpr !== undefined)).toEqual([]);
    expect(volumes['config']?.configMap?.name).toBe(generatedConfigName);
    expect(volumes['policies']?.configMap?.name).toBe('gatehouse-policies');
    expect(volumes['tmp']?.emptyDir?.sizeLimit).toBeDefined();
    expect(config.policies).toBe('/etc/gatehouse/policies');
  });

  test('requests and limits CPU and memory', () => {
    expect(Object.keys(container.resources?.requests ?? {}).sort()).toEqual(['cpu', 'memory']);
    expect(Object.keys(container.resources?.limits ?? {}).sort()).toEqual(['cpu', 'memory']);
  });

  test('the limits plan one worker per CPU of the CPU limit, within the memory request', () => {
    const { requests, limits } = container.resources as { requests: Record<string, string>; limits: Record<string, string> };
    const plan = planProcesses({ cores: 64, limits: { cpus: cpuQuantity(limits['cpu']!), memoryBytes: memoryQuantity(limits['memory']!) }, memoryBudgetMiB: config.memoryBudgetMiB });
    expect(plan.workers).toBe(Math.ceil(cpuQuantity(limits['cpu']!)));
    expect(plan.workersFrom).not.toBe('memory budget');
    const primary = plan.workers > 1 ? primaryMiB : 0;
    expect(plan.workers * workerMiB + primary).toBeLessThanOrEqual(memoryQuantity(requests['memory']!) / 2 ** 20);
  });

  test('leaves the replica count to the HPA, which keeps at least 2', () => {
    expect(deployment.spec!.replicas).toBeUndefined();
    const hpa = findDoc<IHorizontalPodAutoscaler>(baseDocs, 'HorizontalPodAutoscaler', 'gatehouse');
    expect(hpa.spec!.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'gatehouse' });
    expect(hpa.spec!.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.spec!.metrics?.map((metric) => metric.resource?.name)).toEqual(['cpu']);
    expect(deployment.spec!.strategy?.rollingUpdate?.maxUnavailable).toBe(0);
  });

  test('spreads replicas across zones and nodes', () => {
    const spread = pod.topologySpreadConstraints ?? [];
    expect(spread.map((constraint) => constraint.topologyKey).sort()).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    for (const constraint of spread) expect(constraint.labelSelector?.matchLabels).toEqual(podLabels);
  });

  test('runs as the gatehouse service account, whose token it mounts', () => {
    expect(pod.serviceAccountName).toBe('gatehouse');
    expect(pod.automountServiceAccountToken).toBe(true);
    findDoc(baseDocs, 'ServiceAccount', 'gatehouse');
  });

  test('is selected by its Service, PodDisruptionBudget and NetworkPolicy', () => {
    expect(deployment.spec!.selector.matchLabels).toEqual(podLabels);
    expect(findDoc<IService>(baseDocs, 'Service', 'gatehouse').spec!.selector).toEqual(podLabels);
    const pdb = findDoc<IPodDisruptionBudget>(baseDocs, 'PodDisruptionBudget', 'gatehouse');
    expect(pdb.spec!.selector?.matchLabels).toEqual(podLabels);
    expect(pdb.spec!.minAvailable).toBe(1);
    expect(findDoc<INetworkPolicy>(baseDocs, 'NetworkPolicy', 'gatehouse').spec?.podSelector?.matchLabels).toEqual(podLabels);
  });

  test('meets the restricted Pod Security Standard its namespace enforces', () => {
    const namespace = findDoc<INamespace>(baseDocs, 'Namespace', 'gatehouse');
    expect(namespace.metadata!.labels!['pod-security.kubernetes.io/enforce']).toBe('restricted');
    expect((pod.volumes ?? []).every((volume) => volume.hostPath === undefined)).toBe(true);
  });
});

describe('the Service', () => {
  const service = findDoc<IService>(baseDocs, 'Service', 'gatehouse');
  const containerPorts = findDoc<IDeployment>(baseDocs, 'Deployment', 'gatehouse').spec!.template.spec!.containers[0]!.ports!;

  test('is a ClusterIP service with gRPC on 9191 and metrics on 9192, by container port name', () => {
    expect(service.spec!.type).toBe('ClusterIP');
    expect(service.spec!.ports).toEqual([
      { name: 'grpc', port: 9191, targetPort: 'grpc', protocol: 'TCP', appProtocol: 'grpc' },
      { name: 'http-metrics', port: 9192, targetPort: 'http-metrics', protocol: 'TCP', appProtocol: 'http' },
    ]);
    for (const port of service.spec!.ports!) {
      expect(containerPorts.find((containerPort) => containerPort.name === port.targetPort)?.containerPort).toBe(port.port);
    }
  });
});

describe('the NetworkPolicy', () => {
  const policy = findDoc<INetworkPolicy>(baseDocs, 'NetworkPolicy', 'gatehouse');
  const spec = policy.spec!;

  test('isolates both directions', () => {
    expect(spec.policyTypes).toEqual(['Ingress', 'Egress']);
  });

  test('admits Checks on 9191 from every namespace and scrapes on 9192 from monitoring only', () => {
    expect(spec.ingress).toEqual([
      { from: [{ namespaceSelector: {} }], ports: [{ port: 9191, protocol: 'TCP' }] },
      {
        from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }],
        ports: [{ port: 9192, protocol: 'TCP' }],
      },
    ]);
  });

  test('lets out only DNS and HTTPS to the API server', () => {
    const ports = (spec.egress ?? []).flatMap((rule) => (rule.ports ?? []).map((port) => `${port.protocol}/${port.port}`));
    expect(ports.sort()).toEqual(['TCP/443', 'TCP/53', 'TCP/6443', 'UDP/53']);
    expect((spec.egress ?? []).every((rule) => (rule.ports ?? []).length > 0)).toBe(true);
  });
});

describe('RBAC', () => {
  const roles = docs.filter((doc) => doc.body['kind'] === 'ClusterRole' || doc.body['kind'] === 'Role');
  const bindings = docs.filter((doc) => doc.body['kind'] === 'ClusterRoleBinding' || doc.body['kind'] === 'RoleBinding');

  test('the base grants exactly get, list and watch on pods, service accounts and namespaces', () => {
    const baseRoles = baseDocs.filter((doc) => doc.body['kind'] === 'ClusterRole' || doc.body['kind'] === 'Role');
    expect(baseRoles.map(describeDoc)).toEqual(['rbac.yaml#0 rbac.authorization.k8s.io/v1/ClusterRole gatehouse-lifecycle-reader']);
    expect((baseRoles[0]!.body as unknown as IClusterRole).rules).toEqual([
      { apiGroups: [''], resources: ['pods', 'serviceaccounts', 'namespaces'], verbs: ['get', 'list', 'watch'] },
    ]);
  });

  test('tokenreviews appear only in optional/tokenreview-rbac.yaml, and only to create', () => {
    const withTokenReviews = roles.filter((doc) => JSON.stringify(doc.body['rules']).includes('tokenreviews'));
    expect(withTokenReviews.map((doc) => doc.file)).toEqual(['optional/tokenreview-rbac.yaml']);
    expect((withTokenReviews[0]!.body as unknown as IClusterRole).rules).toEqual([
      { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
    ]);
  });

  test('no rule anywhere uses a wildcard, names secrets or grants a write verb beyond the tokenreview create', () => {
    const rules = roles.flatMap((doc) => (doc.body as unknown as IClusterRole).rules ?? []);
    const words = rules.flatMap((rule) => [...(rule.apiGroups ?? []), ...(rule.resources ?? []), ...rule.verbs]);
    expect(words.filter((word) => word.includes('*'))).toEqual([]);
    expect(rules.flatMap((rule) => rule.resources ?? []).filter((resource) => resource.startsWith('secrets'))).toEqual([]);
    const writes = rules.flatMap((rule) => rule.verbs.filter((verb) => !['get', 'list', 'watch'].includes(verb)).map((verb) => `${verb} ${rule.resources?.join(',')}`));
    expect(writes).toEqual(['create tokenreviews']);
  });

  test.each(bindings.map((doc) => [describeDoc(doc), doc] as const))('%s binds a role defined beside it to the gatehouse service account only', (_name, doc) => {
    const binding = doc.body as unknown as IClusterRoleBinding;
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'gatehouse', namespace: 'gatehouse' }]);
    const role = readDocs(doc.file).find((other) => other.body['kind'] === binding.roleRef.kind && (other.body as unknown as IClusterRole).metadata?.name === binding.roleRef.name);
    expect(role).toBeDefined();
  });
});

describe('the gatehouse-config ConfigMap', () => {
  test('holds a config.yaml that gatehouse accepts', () => {
    const config = loadedConfig();
    expect(config).toMatchObject({
      listen: '0.0.0.0:9191',
      httpListen: '0.0.0.0:9192',
      policies: '/etc/gatehouse/policies',
      mode: 'enforce',
      identity: {
        trustDomains: ['cluster.local'],
        jwt: [{ issuer: 'https://kubernetes.default.svc.cluster.local', kind: 'kubernetes', audiences: ['gatehouse'], discovery: true, trustDomain: 'cluster.local' }],
      },
      kubernetes: { enabled: true, tokenReview: false },
    });
  });

  test('holds nothing but config.yaml', () => {
    const configMap = findDoc<IConfigMap>(baseDocs, 'ConfigMap', generatedConfigName);
    expect(Object.keys(configMap.data ?? {})).toEqual(['config.yaml']);
    expect(configMap.binaryData).toBeUndefined();
  });
});

describe('the gatehouse-policies ConfigMap', () => {
  const policiesDir = join(repoRoot, 'policies');
  const configMap = findDoc<IConfigMap>(baseDocs, 'ConfigMap', 'gatehouse-policies');
  const data = configMap.data ?? {};
  const regenerate = 'run `npm run render:policies` after editing policies/';

  test('holds exactly the files of policies/', () => {
    const files = readdirSync(policiesDir)
      .filter((name) => (name.endsWith('.cedar') || name === 'schema.cedarschema') && !name.startsWith('.'))
      .sort();
    expect({ keys: Object.keys(data).sort(), hint: regenerate }).toEqual({ keys: files, hint: regenerate });
  });

  test.each(Object.keys(data).sort())('%s is byte-identical to policies/', (name) => {
    const identical = data[name] === readFileSync(join(policiesDir, name), 'utf8');
    expect({ identical, hint: regenerate }).toEqual({ identical: true, hint: regenerate });
  });

  test('is a policy set that parses and validates against its schema', () => {
    const schemaText = data['schema.cedarschema'];
    expect(schemaText).toBeDefined();
    const prepared = PolicyEngine.prepare({
      files: Object.entries(data)
        .filter(([name]) => name.endsWith('.cedar'))
        .map(([name, text]) => ({ name: `/etc/gatehouse/policies/${name}`, text })),
      schemaText: schemaText!,
      schemaFile: '/etc/gatehouse/policies/schema.cedarschema',
    });
    expect(prepared.ok ? [] : prepared.problems.map(formatProblem)).toEqual([]);
    expect(prepared.ok && prepared.engine.policies.length).toBeGreaterThan(0);
  });

  test('fits the 1 MiB an object may hold', () => {
    expect(Buffer.byteLength(JSON.stringify(configMap))).toBeLessThan(1024 * 1024);
  });
});

function loadedConfig(): Config {
  const configMap = findDoc<IConfigMap>(baseDocs, 'ConfigMap', generatedConfigName);
  return parseConfig(parseYaml(configMap.data!['config.yaml']!));
}

function portOf(hostPort: string): number {
  return Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));
}

/** A Kubernetes CPU quantity in cores: "1", "1.5", "500m". */
function cpuQuantity(text: string): number {
  return text.endsWith('m') ? Number(text.slice(0, -1)) / 1000 : Number(text);
}

/** A Kubernetes memory quantity in bytes, binary suffixes only ("512Mi", "1Gi"). */
function memoryQuantity(text: string): number {
  const match = /^(\d+)(Ki|Mi|Gi)?$/.exec(text);
  if (!match) throw new Error(`unexpected memory quantity ${text}`);
  return Number(match[1]) * 1024 ** ['', 'Ki', 'Mi', 'Gi'].indexOf(match[2] ?? '');
}
