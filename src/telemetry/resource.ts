import { randomUUID } from 'node:crypto';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { ATTR_SERVICE_INSTANCE_ID, ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

/** Set from the pod's downward API in k8s/deployment.yaml; absent outside Kubernetes. */
export const podNameEnv = 'POD_NAME';
export const podNamespaceEnv = 'POD_NAMESPACE';

/**
 * What every log record and span of this process says about where it came from. Each process
 * (a worker too) is its own `service.instance.id`, since each exports its own telemetry. The
 * k8s names are the semantic conventions' (incubating, so spelled here rather than imported).
 */
export function telemetryResource(serviceName: string, env: NodeJS.ProcessEnv = process.env): Resource {
  const podName = env[podNameEnv];
  const namespace = env[podNamespaceEnv];
  return resourceFromAttributes({
    [ATTR_SERVICE_NAME]: serviceName,
    [ATTR_SERVICE_INSTANCE_ID]: randomUUID(),
    ...(podName ? { 'k8s.pod.name': podName } : {}),
    ...(namespace ? { 'k8s.namespace.name': namespace } : {}),
  });
}
