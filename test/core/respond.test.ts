import type { Decision, Subject } from '../../src/core/decision.js';
import { toCheckResponse } from '../../src/core/respond.js';
import { SpiffeId } from '../../src/identity/spiffe-id.js';

const options = { principalHeader: 'x-gatehouse-principal', decisionHeader: 'x-gatehouse-decision-id', removeCredentials: true };
const subject: Subject = { action: 'GET', resource: 'orders.shop', resourceNamespace: 'shop', path: '/api' };
const id = SpiffeId.parse('spiffe://cluster.local/ns/shop/sa/frontend');
if (!id.ok) throw new Error('bad fixture');
const identity = { kind: 'workload', spiffeId: id.value, class: 'service', authn: 'mtls' } as const;
const overwrite = (key: string, value: string) => ({ header: { key, value }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' });

describe('toCheckResponse', () => {
  test('allow overwrites identity headers and strips credentials and spoofable headers', () => {
    const decision: Decision = { kind: 'allow', identity, subject, policies: ['p1'], errors: [], version: 'v' };
    const response = toCheckResponse(decision, 'D1', options);
    expect(response.status.code).toBe(0);
    expect(response.ok_response).toEqual({
      headers: [overwrite('x-gatehouse-decision-id', 'D1'), overwrite('x-gatehouse-principal', 'Workload::"spiffe://cluster.local/ns/shop/sa/frontend"')],
      headers_to_remove: ['x-gatehouse-dry-run', 'x-gatehouse-assertion', 'authorization'],
      response_headers_to_add: [overwrite('x-gatehouse-decision-id', 'D1')],
    });
    expect(response.dynamic_metadata?.fields.policies).toEqual({ list_value: { values: [{ string_value: 'p1' }] } });
  });

  test('a policy deny is a 403 whose body names the decision and no policy', () => {
    const decision: Decision = { kind: 'deny', status: 'forbidden', code: 'policy_denied', reason: 'r', identity, subject, policies: ['secret-forbid'], errors: [], dryRun: false, version: 'v' };
    const response = toCheckResponse(decision, 'D2', options);
    expect(response.status.code).toBe(7);
    expect(response.denied_response?.status.code).toBe('Forbidden');
    expect(JSON.parse(response.denied_response?.body ?? '')).toEqual({ decision: 'deny', decisionId: 'D2' });
    expect(JSON.stringify(response)).not.toContain('secret-forbid');
  });

  test('an invalid credential is a 401 with an invalid_token challenge', () => {
    const decision: Decision = { kind: 'deny', status: 'unauthenticated', code: 'token_expired', reason: 'r', identity: undefined, subject, policies: [], errors: [], dryRun: false, version: 'v' };
    const response = toCheckResponse(decision, 'D3', options);
    expect(response.status.code).toBe(16);
    expect(response.denied_response?.headers).toContainEqual(overwrite('www-authenticate', 'Bearer realm="gatehouse", error="invalid_token"'));
  });

  test('a dry-run deny goes upstream marked', () => {
    const decision: Decision = { kind: 'deny', status: 'forbidden', code: 'policy_denied', reason: 'r', identity, subject, policies: [], errors: [], dryRun: true, version: 'v' };
    const response = toCheckResponse(decision, 'D4', options);
    expect(response.status.code).toBe(0);
    expect(response.ok_response?.headers).toContainEqual(overwrite('x-gatehouse-dry-run', 'deny'));
  });

  test('unavailable is an error_response with UNAVAILABLE', () => {
    const response = toCheckResponse({ kind: 'unavailable', code: 'no_policy_set', reason: 'r', subject }, 'D5', options);
    expect(response.status.code).toBe(14);
    expect(response.error_response?.status.code).toBe('ServiceUnavailable');
    expect(response.ok_response).toBeUndefined();
  });
});
