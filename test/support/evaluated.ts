import type { CedarRequest } from '../../src/core/cedar-request.js';

/** A Cedar request for decisions built by hand in tests, where what Cedar saw does not matter. */
const request: CedarRequest = Object.freeze({
  principal: { type: 'Anonymous', id: 'anonymous' },
  action: { type: 'Action', id: 'GET' },
  resource: { type: 'Service', id: 'orders.shop' },
  context: {},
  entities: [],
});

export const someEvaluated = (): CedarRequest => request;
