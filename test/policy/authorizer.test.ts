import { decide } from '../../src/core/decide.js';
import { parseRequest } from '../../src/core/parse-request.js';
import { requestFacts } from '../../src/core/decode.js';
import { CedarAuthorizer } from '../../src/policy/authorizer.js';
import { loadPolicies } from '../../src/policy/loader.js';
import { examplePolicyDir, workload } from './policy-fixtures.js';

const limits = { maxHeaders: 200, maxHeaderBytes: 65536 };
const check = (method: string, path: string) =>
  requestFacts(
    {
      attributes: {
        source: { address: { socket_address: { address: '10.1.2.3', port_value: 40000 } } },
        request: { http: { method, path, host: 'orders.shop.svc.cluster.local:8080', scheme: 'http', headers: { 'x-tenant': 'acme' } } },
      },
    },
    limits,
  );

test('the example policies decide through the core', async () => {
  const loaded = await loadPolicies(examplePolicyDir);
  if (!loaded.ok) throw new Error('example policies do not load');
  const authorizer = new CedarAuthorizer(loaded.engine);
  const input = {
    authn: { ok: true as const, identity: workload('spiffe://cluster.local/ns/shop/sa/frontend') },
    authorizer,
    mode: { dryRun: false, dryRunNamespaces: new Set<string>() },
  };
  const decideOn = (facts: ReturnType<typeof check>) => decide({ ...input, parsed: parseRequest(facts), facts });
  const allowed = decideOn(check('GET', '/api/orders/42?expand=items'));
  expect(allowed).toMatchObject({ kind: 'allow', policies: ['frontend-reads-orders'], version: loaded.engine.version });
  const denied = decideOn(check('DELETE', '/api/orders/42'));
  expect(denied).toMatchObject({ kind: 'deny', status: 'forbidden', policies: [], errors: [] });
});
