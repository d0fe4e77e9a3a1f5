import { actionScopeMatches, coversNamespaces, entityScopeMatches, isUnconstrained, scopeOf, scopeText, type ScopeTarget } from '../../src/report/policy-scope.js';
import { engineOf } from './fixtures.js';

function scopeFor(head: string) {
  const engine = engineOf({ 'p.cedar': `@id("p")\npermit (${head});` });
  return scopeOf(engine.policyJson('p')!);
}

const frontend: ScopeTarget = { type: 'Workload', ref: 'Workload::"spiffe://cluster.local/ns/shop/sa/frontend"', ancestors: new Set(['Namespace::"shop"']) };
const outside: ScopeTarget = { type: 'Workload', ref: 'Workload::"spiffe://example.org/job"', ancestors: new Set() };
const anonymous: ScopeTarget = { type: 'Anonymous', ref: 'Anonymous::"anonymous"', ancestors: new Set() };

describe('principal scopes', () => {
  test.each([
    ['principal', [true, true, true]],
    ['principal == Workload::"spiffe://cluster.local/ns/shop/sa/frontend"', [true, false, false]],
    ['principal in Namespace::"shop"', [true, false, false]],
    ['principal is Workload', [true, true, false]],
    ['principal is Workload in Namespace::"shop"', [true, false, false]],
    ['principal is Workload in Namespace::"ci"', [false, false, false]],
    ['principal == Anonymous::"anonymous"', [false, false, true]],
    ['principal in Group::"sre"', [false, false, false]],
  ])('%s', (principal, [forFrontend, forOutside, forAnonymous]) => {
    const scope = scopeFor(`${principal}, action, resource`).principal;
    expect([frontend, outside, anonymous].map((target) => entityScopeMatches(scope, target))).toEqual([forFrontend, forOutside, forAnonymous]);
  });
});

describe('action scopes', () => {
  test.each([
    ['action', ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE']],
    ['action == Action::"GET"', ['GET']],
    ['action in Action::"read"', ['GET', 'HEAD', 'OPTIONS']],
    ['action in Action::"write"', ['POST', 'PUT', 'PATCH', 'DELETE']],
    ['action in [Action::"POST", Action::"PUT"]', ['POST', 'PUT']],
    ['action in [Action::"read", Action::"DELETE"]', ['GET', 'HEAD', 'OPTIONS', 'DELETE']],
  ])('%s', (action, matching) => {
    const scope = scopeFor(`principal, ${action}, resource`).action;
    expect(['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE'].filter((method) => actionScopeMatches(scope, method))).toEqual(matching);
  });
});

describe('breadth and text', () => {
  test.each([
    ['principal, action, resource', { principal: 'principal', action: 'action', resource: 'resource' }, true, true, true],
    ['principal is Workload, action, resource is Service', { principal: 'principal is Workload', action: 'action', resource: 'resource is Service' }, true, true, true],
    ['principal in Namespace::"ci", action == Action::"GET", resource in Namespace::"shop"', { principal: 'principal in Namespace::"ci"', action: 'action == Action::"GET"', resource: 'resource in Namespace::"shop"' }, false, false, true],
    ['principal, action, resource is Service in Namespace::"shop"', { principal: 'principal', action: 'action', resource: 'resource is Service in Namespace::"shop"' }, true, false, true],
    ['principal == Workload::"w", action in [Action::"POST", Action::"PUT"], resource == Service::"orders.shop"', { principal: 'principal == Workload::"w"', action: 'action in [Action::"POST", Action::"PUT"]', resource: 'resource == Service::"orders.shop"' }, false, false, false],
  ])('%s', (head, text, anyPrincipal, anyResource, namespaces) => {
    const scope = scopeFor(head);
    expect(scopeText(scope)).toEqual(text);
    expect([isUnconstrained(scope.principal), isUnconstrained(scope.resource), coversNamespaces(scope.resource)]).toEqual([anyPrincipal, anyResource, namespaces]);
  });
});
