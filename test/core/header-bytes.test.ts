/**
 * `limits.maxHeaderBytes` counts the headers' UTF-8 bytes exactly, whichever way Envoy sent them
 * (the joined `headers` map, `header_map` strings, `header_map` raw bytes) and however many bytes
 * a character takes: exactly the limit is decided, one byte more is refused. Requests far below
 * the limit are not counted at all, so the boundary is what must hold.
 */
import { requestFacts, type CheckRequestMessage } from '../../src/core/decode.js';

const limit = 300;
const limits = { maxHeaders: 100, maxHeaderBytes: limit };
const units = ['a', 'é', '€', '😀'];
type Form = 'headers' | 'header_map value' | 'header_map raw_value';

/** A request whose headers take `bytes` UTF-8 bytes, the padding made of `unit`. */
function request(form: Form, unit: string, bytes: number): CheckRequestMessage {
  const fixed = [
    ['x-request-id', 'r-1'],
    [':path', '/api'],
  ];
  const fixedBytes = fixed.reduce((sum, [k, v]) => sum + Buffer.byteLength(k!) + Buffer.byteLength(v!), 0);
  const room = bytes - fixedBytes - Buffer.byteLength('x-pad');
  const unitBytes = Buffer.byteLength(unit);
  const pad = unit.repeat(Math.floor(room / unitBytes)) + 'a'.repeat(room % unitBytes);
  const all = [...fixed, ['x-pad', pad]] as [string, string][];
  expect(all.reduce((sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(v), 0)).toBe(bytes);
  const http =
    form === 'headers'
      ? { headers: Object.fromEntries(all) }
      : { header_map: { headers: all.map(([key, value]) => (form === 'header_map value' ? { key, value } : { key, raw_value: Buffer.from(value) })) } };
  return { attributes: { request: { http: { method: 'GET', path: '/api', ...http } } } };
}

const cases = (['headers', 'header_map value', 'header_map raw_value'] as Form[]).flatMap((form) => units.map((unit) => ({ form, unit })));

test.each(cases)('$form of $unit: exactly the limit is decided, one byte more is refused', ({ form, unit }) => {
  expect(requestFacts(request(form, unit, limit), limits).problems).toEqual([]);
  expect(requestFacts(request(form, unit, limit + 1), limits).problems).toEqual([`headers larger than ${limit} bytes`]);
});

test('far below the limit nothing is refused, far above it is', () => {
  expect(requestFacts(request('headers', '😀', 40), limits).problems).toEqual([]);
  expect(requestFacts(request('header_map raw_value', '€', 3 * limit), limits).problems).toEqual([`headers larger than ${limit} bytes`]);
});

test('a raw value is read as the bytes the upstream gets: a leading byte order mark stays, and counts', () => {
  const withMark = (bytes: number[]): CheckRequestMessage => ({
    attributes: { request: { http: { method: 'GET', path: '/api', header_map: { headers: [{ key: 'authorization', raw_value: Buffer.from(bytes) }] } } } },
  });
  const bom = [0xef, 0xbb, 0xbf];
  const facts = requestFacts(withMark([...bom, ...Buffer.from('Bearer t')]), limits);
  expect(facts.problems).toEqual([]);
  expect(facts.headers.get('authorization')).toBe('\ufeffBearer t');
  // 13 bytes of name, 3 of mark, the rest 'a': exactly the limit, then one more.
  const pad = (n: number) => withMark([...bom, ...Buffer.from('a'.repeat(n))]);
  expect(requestFacts(pad(limit - 16), limits).problems).toEqual([]);
  expect(requestFacts(pad(limit - 15), limits).problems).toEqual([`headers larger than ${limit} bytes`]);
});
