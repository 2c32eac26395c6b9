import { randomFillSync } from 'node:crypto';
import type { HrTime } from '@opentelemetry/api';

/** Large enough that a request's spans nearly always end before the pool that gave their ids is refilled. */
const POOL_BYTES = 64 * 1024;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let poolAt = POOL_BYTES;
/** Counts the pool's refills: an id's bytes are still in the pool while the generation it was drawn in lasts. */
let poolGeneration = 0;
/** Where the bytes of the id drawn last start in the pool. */
let drawnAt = 0;

/** Character codes of each byte's two lowercase hex digits. */
const HIGH_DIGIT = new Uint8Array(256);
const LOW_DIGIT = new Uint8Array(256);
for (let byte = 0; byte < 256; byte++) {
  const hex = byte.toString(16).padStart(2, '0');
  HIGH_DIGIT[byte] = hex.charCodeAt(0);
  LOW_DIGIT[byte] = hex.charCodeAt(1);
}

/** What {@link HEX_PAIR_BYTE} holds for two characters that are not both hex digits. */
export const NOT_HEX_PAIR = 0x100;

/**
 * The byte two ASCII hex digits spell (either case), indexed by both characters' codes as `(first << 7) | second`,
 * or {@link NOT_HEX_PAIR}: one load decodes a byte of an id. Stored into a byte array, `NOT_HEX_PAIR` reads 0.
 */
export const HEX_PAIR_BYTE = new Uint16Array(1 << 14).fill(NOT_HEX_PAIR);
const HEX_DIGITS = '0123456789abcdefABCDEF';
for (const first of HEX_DIGITS) {
  for (const second of HEX_DIGITS) HEX_PAIR_BYTE[(first.charCodeAt(0) << 7) | second.charCodeAt(0)] = Number.parseInt(first + second, 16);
}

/** Where the next `bytes` random bytes start in the pool, refilled by the OS generator; never all zeros (an invalid id). */
function takeRandom(bytes: number): number {
  for (;;) {
    if (poolAt + bytes > POOL_BYTES) {
      randomFillSync(pool);
      poolAt = 0;
      poolGeneration++;
    }
    const start = poolAt;
    poolAt += bytes;
    for (let at = start; at < poolAt; at++) {
      if (pool[at] === 0) continue;
      drawnAt = start;
      return start;
    }
  }
}

/**
 * Eight pool bytes from `at` as 16 hex digits, in one flat string made by a single builtin call: about a third
 * of what `Buffer#toString('hex')` costs for so few bytes, which is mostly the call into C++.
 */
function hex8(at: number): string {
  const p = pool;
  const h = HIGH_DIGIT;
  const l = LOW_DIGIT;
  return String.fromCharCode(
    h[p[at]], l[p[at]], h[p[at + 1]], l[p[at + 1]], h[p[at + 2]], l[p[at + 2]], h[p[at + 3]], l[p[at + 3]],
    h[p[at + 4]], l[p[at + 4]], h[p[at + 5]], l[p[at + 5]], h[p[at + 6]], l[p[at + 6]], h[p[at + 7]], l[p[at + 7]],
  );
}

/** The trace id made last, where its bytes start in the pool, and the pool generation they were drawn in. */
let lastTraceId = '';
let lastTraceIdAt = 0;
let lastTraceIdGeneration = -1;

/** A random 16-byte trace id, likewise in one call (two halves joined would make a rope V8 flattens later). */
export function newTraceId(): string {
  const at = takeRandom(16);
  const p = pool;
  const h = HIGH_DIGIT;
  const l = LOW_DIGIT;
  const traceId = String.fromCharCode(
    h[p[at]], l[p[at]], h[p[at + 1]], l[p[at + 1]], h[p[at + 2]], l[p[at + 2]], h[p[at + 3]], l[p[at + 3]],
    h[p[at + 4]], l[p[at + 4]], h[p[at + 5]], l[p[at + 5]], h[p[at + 6]], l[p[at + 6]], h[p[at + 7]], l[p[at + 7]],
    h[p[at + 8]], l[p[at + 8]], h[p[at + 9]], l[p[at + 9]], h[p[at + 10]], l[p[at + 10]], h[p[at + 11]], l[p[at + 11]],
    h[p[at + 12]], l[p[at + 12]], h[p[at + 13]], l[p[at + 13]], h[p[at + 14]], l[p[at + 14]], h[p[at + 15]], l[p[at + 15]],
  );
  lastTraceId = traceId;
  lastTraceIdAt = at;
  lastTraceIdGeneration = poolGeneration;
  return traceId;
}

/** What {@link drawnTraceIdWordsXor} answers for a trace id whose bytes the pool no longer holds. */
export const NOT_DRAWN = -1;

/**
 * The four big-endian 32-bit words of `traceId`, XORed (as OpenTelemetry's ratio sampler hashes an id), read from
 * the pool when `traceId` is the one {@link newTraceId} made last and the pool still holds its bytes, or
 * {@link NOT_DRAWN}. A root span's sampler is asked right after its id was made, so it need not decode the hex.
 */
export function drawnTraceIdWordsXor(traceId: string): number {
  if (traceId !== lastTraceId || lastTraceIdGeneration !== poolGeneration) return NOT_DRAWN;
  const p = pool;
  const at = lastTraceIdAt;
  const first = (p[at] << 24) | (p[at + 1] << 16) | (p[at + 2] << 8) | p[at + 3];
  const second = (p[at + 4] << 24) | (p[at + 5] << 16) | (p[at + 6] << 8) | p[at + 7];
  const third = (p[at + 8] << 24) | (p[at + 9] << 16) | (p[at + 10] << 8) | p[at + 11];
  const fourth = (p[at + 12] << 24) | (p[at + 13] << 16) | (p[at + 14] << 8) | p[at + 15];
  return (first ^ second ^ third ^ fourth) >>> 0;
}

/** A random 8-byte span id. */
export function newSpanId(): string {
  return hex8(takeRandom(8));
}

/**
 * Where the id made last came from: the pool generation and offset of its bytes. Read right after
 * {@link newTraceId} or {@link newSpanId}, it lets the id's bytes be copied back later ({@link copyIdBytes})
 * instead of decoded from hex.
 */
export function lastIdGeneration(): number {
  return poolGeneration;
}

/** The pool offset of the id made last (see {@link lastIdGeneration}). */
export function lastIdOffset(): number {
  return drawnAt;
}

/** A generation no id is drawn in, for ids that did not come from the pool. */
export const NOT_FROM_POOL = -1;

/**
 * Copies the `length` bytes of an id drawn in `generation` at `offset` to `target` at `targetAt`, as the binary
 * form of its hex. False, copying nothing, once the pool was refilled since (or for {@link NOT_FROM_POOL}).
 */
export function copyIdBytes(target: Uint8Array, targetAt: number, generation: number, offset: number, length: number): boolean {
  if (generation !== poolGeneration) return false;
  for (let i = 0; i < length; i++) target[targetAt + i] = pool[offset + i];
  return true;
}

const ORIGIN_MILLIS = performance.timeOrigin;
const ORIGIN: HrTime = [Math.floor(ORIGIN_MILLIS / 1000), Math.round((ORIGIN_MILLIS % 1000) * 1e6)];

/**
 * Wall-clock time of a `performance.now()` reading, as OpenTelemetry's `[seconds, nanoseconds]`: the process's
 * time origin plus the monotonic offset, added in two parts so no precision is lost in one large number.
 */
export function hrTimeAt(performanceNow: number): HrTime {
  const seconds = Math.floor(performanceNow / 1000);
  let nanos = ORIGIN[1] + Math.round((performanceNow - seconds * 1000) * 1e6);
  let wholeSeconds = ORIGIN[0] + seconds;
  if (nanos >= 1e9) {
    nanos -= 1e9;
    wholeSeconds++;
  }
  return [wholeSeconds, nanos];
}
