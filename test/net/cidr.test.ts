import { addressMatcher } from '../../src/net/cidr.js';

/** `httpAuthz.trustedProxies`: which peers' X-Forwarded-For / X-Real-IP are believed. */
describe('addressMatcher', () => {
  test.each<[string, string[], string, boolean]>([
    ['IPv4 in its /8', ['10.0.0.0/8'], '10.200.3.4', true],
    ['IPv4 outside', ['10.0.0.0/8'], '11.0.0.1', false],
    ['one address is a /32', ['192.0.2.7'], '192.0.2.7', true],
    ['its neighbour is not', ['192.0.2.7'], '192.0.2.8', false],
    ['host bits of the network are ignored', ['10.1.2.3/8'], '10.9.9.9', true],
    ['a prefix that ends inside a word', ['172.16.0.0/12'], '172.31.255.255', true],
    ['just past that prefix', ['172.16.0.0/12'], '172.32.0.0', false],
    ['a dual-stack socket names IPv4 peers as mapped IPv6', ['10.0.0.0/8'], '::ffff:10.0.0.1', true],
    ['mapped, in hex', ['10.0.0.0/8'], '::ffff:a00:1', true],
    ['IPv4-compatible is not mapped', ['10.0.0.0/8'], '::10.0.0.1', false],
    ['IPv4 in a mapped IPv6 network', ['::ffff:10.0.0.0/104'], '10.3.3.3', true],
    ['IPv6 /0 holds IPv4 too', ['::/0'], '198.51.100.1', true],
    ['IPv4 /0 holds no plain IPv6', ['0.0.0.0/0'], '2001:db8::1', false],
    ['IPv6 in its /32', ['2001:db8::/32'], '2001:db8:ffff::1', true],
    ['IPv6 outside', ['2001:db8::/32'], '2001:db9::1', false],
    ['compressed in the middle', ['fd00:0:0:1::/64'], 'fd00::1:0:0:0:7', true],
    ['upper case and leading zeros', ['fd00::/8'], 'FD12:0034::0001', true],
    ['a zone is ignored', ['fe80::/10'], 'fe80::1%eth0', true],
    ['loopback /128', ['::1'], '::1', true],
    ['not an address', ['0.0.0.0/0', '::/0'], 'localhost', false],
    ['empty', ['0.0.0.0/0'], '', false],
    ['the second of two networks', ['10.0.0.0/8', '2001:db8::/32'], '2001:db8::5', true],
    ['no networks', [], '10.0.0.1', false],
  ])('%s', (_name, cidrs, address, expected) => {
    expect(addressMatcher(cidrs)(address)).toBe(expected);
  });
});
