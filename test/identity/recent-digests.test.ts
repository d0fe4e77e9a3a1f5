/**
 * RecentDigests gives every token its own SHA-256, whatever came before: tokens that share a slot
 * (the same last characters), that alternate, or that differ only in their first character.
 */
import { createHash } from 'node:crypto';
import { RecentDigests } from '../../src/identity/recent-digests.js';

const sha256 = (token: string): string => createHash('sha256').update(token).digest('base64url');

test('each token gets its own digest, in any order, slots shared or not', () => {
  const digests = new RecentDigests();
  const tokens = ['', 'a', 'eyJ.x.AB', 'eyJ.y.AB', 'fyJ.x.AB', 'eyJ.x.AB', 'eyJ.x.BA'];
  for (let i = 0; i < 500; i++) tokens.push(`eyJhbGciOi.${i}.sig${i % 7}`, `eyJhbGciOi.${i % 3}.sig${i % 7}`);
  const wrong = [...tokens, ...tokens.reverse()].filter((token) => digests.of(token) !== sha256(token));
  expect(wrong).toEqual([]);
});
