import { actionAncestors } from '../../../src/policy/cedar/action-groups.js';
import { scopeOf } from '../../../src/policy/slicing/scope.js';
import { exampleSchema } from '../policy-fixtures.js';

const entity = 'entity E;';

describe('actionAncestors reads the schema the way Cedar does', () => {
  test.each([
    ['the example schema', exampleSchema, 'GET', ['Action::"read"']],
    ['groups of groups', `${entity} action all; action read in [all]; action GET in [read] appliesTo { principal: E, resource: E };`, 'GET', ['Action::"read"', 'Action::"all"']],
    ['an action in no group', `${entity} action GET appliesTo { principal: E, resource: E };`, 'GET', []],
  ])('%s', (_name, schema, action, groups) => {
    expect([...(actionAncestors(schema)?.get(`Action::"${action}"`) ?? ['missing'])].sort()).toEqual([...groups].sort());
  });

  test.each([
    ['actions in a named namespace', `namespace N { ${entity} action a; action b in [a] appliesTo { principal: E, resource: E }; }`],
    ['a schema that does not parse', 'entity'],
  ])('%s: not modelled, so action filtering is off', (_name, schema) => {
    expect(actionAncestors(schema)).toBeUndefined();
  });
});

test('a policy without its JSON form goes into every slice', () => {
  expect(scopeOf(undefined)).toEqual({ principal: { kind: 'any' }, action: { kind: 'any' }, resource: { kind: 'any' } });
});
