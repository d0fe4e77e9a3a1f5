import { randomBytes } from 'node:crypto';

const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const poolSize = 4096;
let pool = randomBytes(poolSize);
let offset = 0;

/**
 * A ULID (26 Crockford base32 characters, time-ordered): sortable in logs and unique across
 * replicas. Randomness is drawn from a pooled buffer because one syscall per Check is costly.
 */
export function newDecisionId(nowMs: number): string {
  let out = '';
  let time = nowMs;
  for (let i = 0; i < 10; i++) {
    out = alphabet[time % 32] + out;
    time = Math.floor(time / 32);
  }
  if (offset + 16 > poolSize) {
    pool = randomBytes(poolSize);
    offset = 0;
  }
  for (let i = 0; i < 16; i++) out += alphabet[pool[offset + i]! & 31];
  offset += 16;
  return out;
}
