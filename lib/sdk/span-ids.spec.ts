import { copyIdBytes, drawIdBytes, hrTimeAt, lastIdGeneration, newSpanId, newTraceId, NOT_FROM_POOL, poolWord, spanIdOfWords, traceIdOfWords } from './span-ids.js';

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
    const offset = drawIdBytes(16);
    const generation = lastIdGeneration();
    const traceId = traceIdOfWords(poolWord(offset), poolWord(offset + 4), poolWord(offset + 8), poolWord(offset + 12));
    const target = new Uint8Array(16);
    expect(copyIdBytes(target, 0, generation, offset, 16)).toBe(true);
    expect(Buffer.from(target).toString('hex')).toBe(traceId);
    // 64 KiB of ids later the pool has been refilled at least once.
    for (let i = 0; i < 8200; i++) newSpanId();
    expect(lastIdGeneration()).toBeGreaterThan(generation);
    expect(copyIdBytes(new Uint8Array(16), 0, generation, offset, 16)).toBe(false);
    expect(copyIdBytes(new Uint8Array(16), 0, NOT_FROM_POOL, 0, 16)).toBe(false);
  });

  it("reads the pool's words big-endian, as signed integers, and spells ids from them as Buffer's hex does", () => {
    for (let i = 0; i < 2000; i++) {
      const offset = drawIdBytes(8);
      const target = new Uint8Array(8);
      copyIdBytes(target, 0, lastIdGeneration(), offset, 8);
      const bytes = Buffer.from(target);
      expect([poolWord(offset), poolWord(offset + 4)]).toEqual([bytes.readInt32BE(0), bytes.readInt32BE(4)]);
      expect(spanIdOfWords(poolWord(offset), poolWord(offset + 4))).toBe(bytes.toString('hex'));
    }
    // The edges: words with the sign bit set, zero, and every byte value in every position.
    const words = [0, -1, 0x7fffffff, -0x80000000, 0x01020304, -0x0f0e0d0d, 0x00ff00ff];
    for (const first of words) {
      for (const second of words) {
        const expected = Buffer.alloc(16);
        expected.writeInt32BE(first, 0);
        expected.writeInt32BE(second, 4);
        expected.writeInt32BE(second, 8);
        expected.writeInt32BE(first, 12);
        expect(traceIdOfWords(first, second, second, first)).toBe(expected.toString('hex'));
        expect(spanIdOfWords(first, second)).toBe(expected.subarray(0, 8).toString('hex'));
      }
    }
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
