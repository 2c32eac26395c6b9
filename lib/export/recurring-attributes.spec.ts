import { ProtobufWriter } from './protobuf-writer.js';
import { RecurringAttributeRuns, RecurringAttributes } from './recurring-attributes.js';

const writeString = (writer: ProtobufWriter, field: number, value: unknown) => {
  const at = writer.begin(field);
  writer.stringField(1, String(value));
  writer.end(at);
};

describe('recurring attribute entries', () => {
  it('gives the same encoded entry for a pair seen again, and the bytes a writer would write', () => {
    const cache = new RecurringAttributes(writeString);
    const first = cache.entryFor('http.route', '/items/:id');
    expect(cache.entryFor('http.route', '/items/:id')).toBe(first);
    const writer = new ProtobufWriter(64);
    writer.stringField(1, 'http.route');
    writeString(writer, 2, '/items/:id');
    expect(Buffer.from(first!)).toEqual(writer.copy());
  });

  it('stops keeping a key whose values vary, and never keeps arrays, objects or long strings', () => {
    const cache = new RecurringAttributes(writeString);
    for (let i = 0; i < 32; i++) expect(cache.entryFor('url.path', `/items/${i}`)).toBeDefined();
    expect(cache.entryFor('url.path', '/items/32')).toBeUndefined();
    // Varying from now on, also for values it kept before.
    expect(cache.entryFor('url.path', '/items/0')).toBeUndefined();
    expect(cache.entryFor('tags', ['a'])).toBeUndefined();
    expect(cache.entryFor('body', 'x'.repeat(257))).toBeUndefined();
    expect(cache.entryFor('ok', true)).toBeDefined();
  });

  it('joins runs of entries, each framed as the field, and finds a run again by key and value', () => {
    const runs = new RecurringAttributeRuns(9);
    const a = Uint8Array.of(1, 2);
    const b = Uint8Array.of(3);
    const ab = runs.extend(runs.extend(runs.start, 'a', 1, a)!, 'b', 'x', b)!;
    expect([...ab.bytes]).toEqual([0x4a, 2, 1, 2, 0x4a, 1, 3]);
    expect(runs.extend(runs.extend(runs.start, 'a', 1, a)!, 'b', 'x', b)).toBe(ab);
    expect(runs.follow(runs.follow(runs.start, 'a', 1)!, 'b', 'x')).toBe(ab);
    // Another value, or the same value of another type, is another run.
    expect(runs.follow(runs.start, 'a', 2)).toBeUndefined();
    expect(runs.follow(runs.start, 'a', '1')).toBeUndefined();
    expect(runs.extend(runs.start, 'c', true, Uint8Array.from({ length: 3000 }))).toBeUndefined();
  });

  it('follows alternating branches the same with its recent pair as through its maps, NaN included', () => {
    const runs = new RecurringAttributeRuns(9);
    const entry = Uint8Array.of(7);
    const get = runs.extend(runs.start, 'method', 'GET', entry)!;
    const post = runs.extend(runs.start, 'method', 'POST', entry)!;
    const nan = runs.extend(runs.start, 'ratio', Number.NaN, entry)!;
    for (let round = 0; round < 3; round++) {
      expect(runs.follow(runs.start, 'method', 'GET')).toBe(get);
      expect(runs.follow(runs.start, 'method', 'GET')).toBe(get);
      // The same text made anew still matches; the same text as another key does not.
      expect(runs.follow(runs.start, 'method', ['PO', 'ST'].join(''))).toBe(post);
      expect(runs.follow(runs.start, 'verb', 'POST')).toBeUndefined();
      expect(runs.follow(runs.start, 'ratio', Number.NaN)).toBe(nan);
      expect(runs.follow(runs.start, 'method', 'PUT')).toBeUndefined();
    }
  });
});
