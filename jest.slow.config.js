/**
 * The full-size fuzz and load runs (`npm run test:fuzz`, `npm run test:load`): files named
 * `*.slow.ts`, which the default config's `*.test.ts` pattern leaves out, so `npm test` runs only
 * their short versions.
 */
import base from './jest.config.js';

export default {
  ...base,
  testMatch: ['<rootDir>/test/**/*.slow.ts'],
  testTimeout: 600000,
};
