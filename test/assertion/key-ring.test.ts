import { KeyRing } from '../../src/assertion/key-ring.js';
import { signingKeyFromPem, type SigningKey } from '../../src/assertion/signing-key.js';
import { privatePem } from './support.js';

let k1: SigningKey;
let k2: SigningKey;
let k3: SigningKey;

beforeAll(async () => {
  [k1, k2, k3] = await Promise.all([signingKeyFromPem(privatePem(), 'k1.pem'), signingKeyFromPem(privatePem(), 'k2.pem'), signingKeyFromPem(privatePem(), 'k3.pem')]);
});

const ttlSeconds = 60;
const skewSeconds = 30;
const kids = (ring: KeyRing, now: number): string[] => ring.keySet(now).keys.map((key) => key.kid!);

describe('a former signing key is served until its last assertion has expired, plus skew', () => {
  // k1 signs from t=1000 until the rotation at t=1010.
  const cases: { name: string; lastUse: number | undefined; servedUntil: number }[] = [
    { name: 'signed just before the rotation: its exp + skew', lastUse: 1010, servedUntil: 1010 + ttlSeconds + skewSeconds },
    { name: 'signed long before the rotation: rotation + ttl + skew (other replicas may sign until then)', lastUse: 1000, servedUntil: 1010 + ttlSeconds + skewSeconds },
    { name: 'never signed here: rotation + ttl + skew', lastUse: undefined, servedUntil: 1010 + ttlSeconds + skewSeconds },
    { name: 'a mint begun before the rotation that ends after it: its exp + skew', lastUse: 1030, servedUntil: 1030 + ttlSeconds + skewSeconds },
  ];
  test.each(cases)('$name', ({ lastUse, servedUntil }) => {
    const ring = new KeyRing(k1, { ttlSeconds, skewSeconds });
    if (lastUse !== undefined && lastUse <= 1010) ring.recordUse(k1.kid, lastUse + ttlSeconds);
    ring.rotate(k2, 1010);
    if (lastUse !== undefined && lastUse > 1010) ring.recordUse(k1.kid, lastUse + ttlSeconds);
    expect(ring.signing.kid).toBe(k2.kid);
    expect(kids(ring, servedUntil - 1)).toEqual([k2.kid, k1.kid]);
    expect(kids(ring, servedUntil)).toEqual([k2.kid]);
  });
});

test('rotating to the signing key again changes nothing', () => {
  const ring = new KeyRing(k1, { ttlSeconds, skewSeconds });
  ring.rotate(k1, 1000);
  expect(kids(ring, 1000)).toEqual([k1.kid]);
});

test('rotating back to a retired key makes it sign and serves the other one as retired', () => {
  const ring = new KeyRing(k1, { ttlSeconds, skewSeconds });
  ring.rotate(k2, 1000);
  ring.rotate(k1, 1005);
  expect(ring.signing.kid).toBe(k1.kid);
  expect(kids(ring, 1005)).toEqual([k1.kid, k2.kid]);
  expect(kids(ring, 1005 + ttlSeconds + skewSeconds)).toEqual([k1.kid]);
});

test('published keys are served without signing, once each, after the signing key', () => {
  const ring = new KeyRing(k1, { ttlSeconds, skewSeconds });
  ring.publish([k3, k1]);
  expect(kids(ring, 0)).toEqual([k1.kid, k3.kid]);
  ring.rotate(k2, 0);
  expect(kids(ring, 0)).toEqual([k2.kid, k3.kid, k1.kid]);
  ring.publish([]);
  expect(kids(ring, 0)).toEqual([k2.kid, k1.kid]);
});

test('the key set holds public members only', () => {
  const ring = new KeyRing(k1, { ttlSeconds, skewSeconds });
  ring.rotate(k2, 0);
  for (const key of ring.keySet(0).keys) expect(key).not.toHaveProperty('d');
});
