import { randomFillSync } from 'node:crypto';
import type { HrTime } from '@opentelemetry/api';

const POOL_BYTES = 8192;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let poolAt = POOL_BYTES;

/**
 * `bytes` random bytes from a pool refilled by the OS generator, as lowercase hex in one flat string (no
 * intermediate strings to collect); never all zeros, which is an invalid id.
 */
function randomHex(bytes: number): string {
  for (;;) {
    if (poolAt + bytes > POOL_BYTES) {
      randomFillSync(pool);
      poolAt = 0;
    }
    const start = poolAt;
    poolAt += bytes;
    for (let at = start; at < poolAt; at++) if (pool[at] !== 0) return pool.toString('hex', start, poolAt);
  }
}

/** A random 16-byte trace id. */
export function newTraceId(): string {
  return randomHex(16);
}

/** A random 8-byte span id. */
export function newSpanId(): string {
  return randomHex(8);
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
