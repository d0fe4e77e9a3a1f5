import { BlockList, isIP } from 'node:net';
import type { Result } from '../core/result.js';

interface Subnet {
  readonly address: string;
  readonly prefix: number;
  readonly type: 'ipv4' | 'ipv6';
}

/** `10.0.0.0/8`, `fd00::/8`, or one address (`192.0.2.7`, a /32 or /128). */
export function parseCidr(text: string): Result<Subnet> {
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return { ok: false, reason: `${JSON.stringify(text)} is not an IP address or CIDR` };
  const bits = version === 4 ? 32 : 128;
  const prefixText = slash < 0 ? String(bits) : text.slice(slash + 1);
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix >= 0 && prefix <= bits)) return { ok: false, reason: `${JSON.stringify(text)}: the prefix length must be 0 to ${bits}` };
  return { ok: true, value: { address, prefix, type: version === 4 ? 'ipv4' : 'ipv6' } };
}

/**
 * Whether an address is in one of `cidrs` (already validated by the config). A socket's
 * IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, on a dual-stack listener) counts as its IPv4 one.
 */
export function addressMatcher(cidrs: readonly string[]): (address: string) => boolean {
  if (cidrs.length === 0) return () => false;
  const list = new BlockList();
  for (const cidr of cidrs) {
    const parsed = parseCidr(cidr);
    if (parsed.ok) list.addSubnet(parsed.value.address, parsed.value.prefix, parsed.value.type);
  }
  return (address) => {
    const plain = unmappedAddress(address);
    const version = isIP(plain);
    return version !== 0 && list.check(plain, version === 4 ? 'ipv4' : 'ipv6');
  };
}

/** A dual-stack socket reports IPv4 peers as `::ffff:10.0.0.1`; policies and Envoy see `10.0.0.1`. */
export function unmappedAddress(address: string): string {
  return /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1] ?? address;
}
