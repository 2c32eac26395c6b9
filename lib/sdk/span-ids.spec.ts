import { copyIdBytes, drawnTraceIdWordsXor, hrTimeAt, lastIdGeneration, lastIdOffset, newSpanId, newTraceId, NOT_DRAWN, NOT_FROM_POOL } from './span-ids.js';

/** The XOR of an id's four 32-bit words, from its hex. */
function wordsXor(traceId: string): number {
  let xor = 0;
  for (let at = 0; at < 32; at += 8) xor = (xor ^ Number.parseInt(traceId.slice(at, at + 8), 16)) >>> 0;
  return xor;
}

describe('span ids and times', () => {
  it('makes valid, distinct lowercase hex ids', () => {
    const traces = new Set(Array.from({ length: 5000 }, newTraceId));
    const spans = new Set(Array.from({ length: 5000 }, newSpanId));
    expect(traces.size).toBe(5000);
    expect(spans.size).toBe(5000);
    for (const id of traces) expect(id).toMatch(/^(?!0{32})[0-9a-f]{32}$/);
    for (const id of spans) expect(id).toMatch(/^(?!0{16})[0-9a-f]{16}$/);
  });

  it('uses every hex digit in every position, as random bytes would', () => {
    const ids = Array.from({ length: 4000 }, newTraceId);
    for (let position = 0; position < 32; position++) {
      const digits = new Set(ids.map((id) => id[position]));
      expect(digits.size).toBe(16);
    }
  });

  it("copies an id's bytes back from the pool while the pool holds them, and refuses once it was refilled", () => {
    const traceId = newTraceId();
    const generation = lastIdGeneration();
    const offset = lastIdOffset();
    const target = new Uint8Array(16);
    expect(copyIdBytes(target, 0, generation, offset, 16)).toBe(true);
    expect(Buffer.from(target).toString('hex')).toBe(traceId);
    // 64 KiB of ids later the pool has been refilled at least once.
    for (let i = 0; i < 8200; i++) newSpanId();
    expect(lastIdGeneration()).toBeGreaterThan(generation);
    expect(copyIdBytes(new Uint8Array(16), 0, generation, offset, 16)).toBe(false);
    expect(copyIdBytes(new Uint8Array(16), 0, NOT_FROM_POOL, 0, 16)).toBe(false);
  });

  it("hashes the trace id made last from the pool's bytes, and only that one while the pool holds it", () => {
    for (let i = 0; i < 500; i++) {
      const traceId = newTraceId();
      expect(drawnTraceIdWordsXor(traceId)).toBe(wordsXor(traceId));
      // The same id in another string object is still the id made last.
      expect(drawnTraceIdWordsXor(traceId.split('').join(''))).toBe(wordsXor(traceId));
    }
    const earlier = newTraceId();
    newTraceId();
    expect(drawnTraceIdWordsXor(earlier)).toBe(NOT_DRAWN);
    const last = newTraceId();
    for (let i = 0; i < 8200; i++) newSpanId();
    expect(drawnTraceIdWordsXor(last)).toBe(NOT_DRAWN);
    expect(drawnTraceIdWordsXor('4bf92f3577b34da6a3ce929d0e0e4736')).toBe(NOT_DRAWN);
  });

  it('turns a monotonic reading into wall-clock [seconds, nanoseconds]', () => {
    const before = Date.now();
    const [seconds, nanos] = hrTimeAt(performance.now());
    const after = Date.now();
    const millis = seconds * 1000 + nanos / 1e6;
    expect(nanos).toBeGreaterThanOrEqual(0);
    expect(nanos).toBeLessThan(1e9);
    expect(millis).toBeGreaterThanOrEqual(before - 2);
    expect(millis).toBeLessThanOrEqual(after + 2);
    const [s2, n2] = hrTimeAt(performance.now() + 1.5);
    expect((s2 - seconds) * 1e9 + (n2 - nanos)).toBeGreaterThanOrEqual(1.5e6 - 1000);
  });
});
