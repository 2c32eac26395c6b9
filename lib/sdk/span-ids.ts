import { randomFillSync } from 'node:crypto';
import type { HrTime } from '@opentelemetry/api';

/** Large enough that a request's spans nearly always end before the pool that gave their ids is refilled. */
const POOL_BYTES = 64 * 1024;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let poolAt = POOL_BYTES;
/** Counts the pool's refills: an id's bytes are still in the pool while the generation it was drawn in lasts. */
let poolGeneration = 0;

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

/**
 * Draws the random bytes of a new id, 16 for a trace id or 8 for a span id, and returns where they start in the
 * pool, refilled by the OS generator; never all zeros (an invalid id). They stay there while the pool generation
 * ({@link lastIdGeneration}, read right after) lasts: read them with {@link poolWord} before drawing again, since
 * the next draw may refill the pool.
 */
export function drawIdBytes(length: 8 | 16): number {
  for (;;) {
    if (poolAt + length > POOL_BYTES) {
      randomFillSync(pool);
      poolAt = 0;
      poolGeneration++;
    }
    const start = poolAt;
    poolAt += length;
    for (let at = start; at < poolAt; at++) if (pool[at] !== 0) return start;
  }
}

/**
 * The big-endian 32-bit word of the pool at `at`, as a signed integer: V8 keeps that a small integer, in a field
 * or a register, where an unsigned one above 2^31 would be a heap number.
 */
export function poolWord(at: number): number {
  const p = pool;
  return (p[at] << 24) | (p[at + 1] << 16) | (p[at + 2] << 8) | p[at + 3];
}

/**
 * The 32 hex digits of a trace id from its four words, in one flat string made by a single builtin call: about a
 * third of what `Buffer#toString('hex')` costs for so few bytes, which is mostly the call into C++ (and two halves
 * joined would make a rope V8 flattens later).
 */
export function traceIdOfWords(first: number, second: number, third: number, fourth: number): string {
  const h = HIGH_DIGIT;
  const l = LOW_DIGIT;
  return String.fromCharCode(
    h[first >>> 24], l[first >>> 24], h[(first >>> 16) & 255], l[(first >>> 16) & 255], h[(first >>> 8) & 255], l[(first >>> 8) & 255], h[first & 255], l[first & 255],
    h[second >>> 24], l[second >>> 24], h[(second >>> 16) & 255], l[(second >>> 16) & 255], h[(second >>> 8) & 255], l[(second >>> 8) & 255], h[second & 255], l[second & 255],
    h[third >>> 24], l[third >>> 24], h[(third >>> 16) & 255], l[(third >>> 16) & 255], h[(third >>> 8) & 255], l[(third >>> 8) & 255], h[third & 255], l[third & 255],
    h[fourth >>> 24], l[fourth >>> 24], h[(fourth >>> 16) & 255], l[(fourth >>> 16) & 255], h[(fourth >>> 8) & 255], l[(fourth >>> 8) & 255], h[fourth & 255], l[fourth & 255],
  );
}

/** The 16 hex digits of a span id from its two words, likewise. */
export function spanIdOfWords(first: number, second: number): string {
  const h = HIGH_DIGIT;
  const l = LOW_DIGIT;
  return String.fromCharCode(
    h[first >>> 24], l[first >>> 24], h[(first >>> 16) & 255], l[(first >>> 16) & 255], h[(first >>> 8) & 255], l[(first >>> 8) & 255], h[first & 255], l[first & 255],
    h[second >>> 24], l[second >>> 24], h[(second >>> 16) & 255], l[(second >>> 16) & 255], h[(second >>> 8) & 255], l[(second >>> 8) & 255], h[second & 255], l[second & 255],
  );
}

/** A random 16-byte trace id, as hex. */
export function newTraceId(): string {
  const at = drawIdBytes(16);
  return traceIdOfWords(poolWord(at), poolWord(at + 4), poolWord(at + 8), poolWord(at + 12));
}

/** A random 8-byte span id, as hex. */
export function newSpanId(): string {
  const at = drawIdBytes(8);
  return spanIdOfWords(poolWord(at), poolWord(at + 4));
}

/**
 * The pool generation the id drawn last came from. Read right after {@link drawIdBytes}, it lets the id's bytes
 * be copied back later ({@link copyIdBytes}) instead of decoded from hex.
 */
export function lastIdGeneration(): number {
  return poolGeneration;
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
