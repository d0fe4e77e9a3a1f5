import type { X509Certificate } from 'node:crypto';

/**
 * What a chain check needs and node:crypto does not expose: the key usage bits
 * (`X509Certificate.keyUsage` is the *extended* key usage) and basicConstraints as written
 * (`X509Certificate.ca` is false for a CA:true certificate whose keyUsage lacks keyCertSign).
 */
export interface CaExtensions {
  /** basicConstraints cA. */
  readonly isCa: boolean;
  /** keyUsage present and without keyCertSign: the key must not sign certificates (RFC 5280 §4.2.1.3). */
  readonly keyCertSignDenied: boolean;
  /** basicConstraints pathLenConstraint: the most intermediate CAs that may follow this one. */
  readonly pathLength: number | undefined;
}

const keyUsageOid = '551d0f'; // 2.5.29.15
const basicConstraintsOid = '551d13'; // 2.5.29.19
const keyCertSignBit = 0x04; // bit 5 of the first byte, counting from its most significant bit

interface Tlv {
  readonly tag: number;
  readonly start: number;
  readonly end: number;
}

const parsed = new WeakMap<X509Certificate, CaExtensions>();

/** Reads the certificate's DER once; a certificate node:crypto parsed is well-formed DER. */
export function caExtensions(cert: X509Certificate): CaExtensions {
  let result = parsed.get(cert);
  if (result === undefined) parsed.set(cert, (result = readExtensions(cert.raw)));
  return result;
}

function readExtensions(der: Buffer): CaExtensions {
  let isCa = false;
  let keyCertSignDenied = false;
  let pathLength: number | undefined;
  const certificate = tlv(der, 0);
  const tbs = tlv(der, certificate.start);
  const extensionsField = children(der, tbs).find((field) => field.tag === 0xa3);
  if (extensionsField === undefined) return { isCa, keyCertSignDenied, pathLength };
  for (const extension of children(der, tlv(der, extensionsField.start))) {
    const [oid, ...rest] = children(der, extension);
    const value = rest.at(-1);
    if (oid === undefined || value === undefined || value.tag !== 0x04) continue;
    const id = der.subarray(oid.start, oid.end).toString('hex');
    if (id === keyUsageOid) {
      const bits = tlv(der, value.start);
      keyCertSignDenied = bits.end - bits.start < 2 || ((der[bits.start + 1] ?? 0) & keyCertSignBit) === 0;
    } else if (id === basicConstraintsOid) {
      const fields = children(der, tlv(der, value.start));
      const flag = fields.find((field) => field.tag === 0x01);
      isCa = flag !== undefined && der[flag.start] !== 0;
      const length = fields.find((field) => field.tag === 0x02);
      if (length !== undefined) pathLength = der.subarray(length.start, length.end).reduce((n, byte) => n * 256 + byte, 0);
    }
  }
  return { isCa, keyCertSignDenied, pathLength };
}

function tlv(der: Buffer, offset: number): Tlv {
  const tag = der[offset] ?? 0;
  const first = der[offset + 1] ?? 0;
  if (first < 0x80) return { tag, start: offset + 2, end: offset + 2 + first };
  const count = first & 0x7f;
  let length = 0;
  for (let i = 0; i < count; i++) length = length * 256 + (der[offset + 2 + i] ?? 0);
  const start = offset + 2 + count;
  return { tag, start, end: start + length };
}

function children(der: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let offset = parent.start; offset < parent.end; ) {
    const child = tlv(der, offset);
    if (child.end > parent.end) break;
    out.push(child);
    offset = child.end;
  }
  return out;
}
