import { randomBytes } from 'node:crypto';

const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const poolSize = 4096;
let pool = randomCharacters();
let offset = 0;
let lastMs = Number.NaN;
let lastTime = '';

/**
 * A ULID (26 Crockford base32 characters, time-ordered): sortable in logs and unique across
 * replicas. Randomness is drawn from a pooled buffer because one syscall per Check is costly,
 * mapped to the alphabet once per pool; Checks of one millisecond share the time's characters.
 */
export function newDecisionId(nowMs: number): string {
  if (nowMs !== lastMs) {
    lastMs = nowMs;
    lastTime = timeCharacters(nowMs);
  }
  if (offset + 16 > poolSize) {
    pool = randomCharacters();
    offset = 0;
  }
  const random = pool.slice(offset, offset + 16);
  offset += 16;
  return lastTime + random;
}

function timeCharacters(nowMs: number): string {
  let out = '';
  let time = nowMs;
  for (let i = 0; i < 10; i++) {
    out = alphabet[time % 32] + out;
    time = Math.floor(time / 32);
  }
  return out;
}

/** A pool of random alphabet characters, each from the low five bits of a random byte. */
function randomCharacters(): string {
  const bytes = randomBytes(poolSize);
  for (let i = 0; i < poolSize; i++) bytes[i] = alphabet.charCodeAt(bytes[i]! & 31);
  return bytes.toString('latin1');
}
