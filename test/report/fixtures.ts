/** Small estates for the report tests: the shipped example policies and an inventory that fits them. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PolicyEngine } from '../../src/policy/cedar/engine.js';
import { loadPolicies } from '../../src/policy/loader.js';
import { formatProblem } from '../../src/policy/problem.js';
import { parseInventory, type Inventory } from '../../src/report/inventory.js';
import { examplePolicyDir, exampleSchema } from '../policy/policy-fixtures.js';

export { examplePolicyDir };

export const ids = {
  frontend: 'spiffe://cluster.local/ns/shop/sa/frontend',
  checkout: 'spiffe://cluster.local/ns/shop/sa/checkout',
  orders: 'spiffe://cluster.local/ns/shop/sa/orders',
  builder: 'spiffe://cluster.local/ns/ci/sa/builder',
  reconciler: 'spiffe://cluster.local/ns/ops/sa/reconciler',
  prometheus: 'spiffe://cluster.local/ns/monitoring/sa/prometheus',
  retired: 'spiffe://cluster.local/ns/shop/sa/legacy-batch',
} as const;

export const principal = (id: string): string => `Workload::"${id}"`;

export const exampleInventoryYaml = `workloads:
  - spiffeId: "${ids.frontend}"
    class: service
  - spiffeId: "${ids.checkout}"
    class: service
  - spiffeId: "${ids.orders}"
    class: service
  - spiffeId: "${ids.builder}"
    class: build
  - spiffeId: "${ids.reconciler}"
    class: automation
  - spiffeId: "${ids.prometheus}"
    class: service
services:
  - orders.shop
  - catalog.shop
  - payments.shop
  - artifacts.registry
`;

export function inventoryOf(yaml: string): Inventory {
  const parsed = parseInventory(yaml, 'inventory.yaml');
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  return parsed.inventory;
}

export async function exampleEngine(): Promise<PolicyEngine> {
  const loaded = await loadPolicies(examplePolicyDir);
  if (!loaded.ok) throw new Error(loaded.problems.map(formatProblem).join('\n'));
  return loaded.engine;
}

/** An engine over the example schema and the given policy files. */
export function engineOf(files: Record<string, string>): PolicyEngine {
  const prepared = PolicyEngine.prepare({ files: Object.entries(files).map(([name, text]) => ({ name, text })), schemaText: exampleSchema, schemaFile: 'schema.cedarschema' });
  if (!prepared.ok) throw new Error(prepared.problems.map(formatProblem).join('\n'));
  return prepared.engine;
}

let decisions = 0;

/** One decision log line as gatehouse writes it; each with its own decision id unless one is given. */
export function logLine(fields: { time: string; principal: string; resource: string; action: string; decision: 'allow' | 'deny' | 'error'; policies?: string[]; reason?: string; path?: string; decisionId?: string; actor?: string; actorClass?: string }): string {
  decisions += 1;
  return JSON.stringify({
    time: fields.time,
    decisionId: fields.decisionId ?? `d-${decisions}`,
    requestId: 'r-1',
    principal: fields.principal,
    authn: fields.actor === undefined ? 'mtls' : 'jwt',
    ...(fields.actor === undefined ? {} : { actor: fields.actor, delegation: { depth: 1, actors: [fields.actor.replace(/^Workload::"(.*)"$/, '$1')] } }),
    ...(fields.actorClass === undefined ? {} : { actorClass: fields.actorClass }),
    action: fields.action,
    resource: fields.resource,
    path: fields.path ?? '/',
    decision: fields.decision,
    policies: fields.policies ?? [],
    errors: [],
    mode: 'enforce',
    durationMs: 0.2,
    reason: fields.reason ?? (fields.decision === 'allow' ? '' : 'policy_denied'),
    detail: '',
    policyVersion: 'abc123abc123',
  });
}

export async function scratch(prefix: string): Promise<{ dir: string; write: (name: string, text: string) => Promise<string>; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `gatehouse-report-${prefix}-`));
  return {
    dir,
    write: async (name, text) => {
      const file = join(dir, name);
      await writeFile(file, text);
      return file;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
