import { ProtobufWriter, varintSize } from './protobuf-writer.js';

/** Reads one length-delimited field: its key, its length (a canonical varint) and its content. */
function readField(bytes: Buffer): { key: number; lengthBytes: number; content: Buffer } {
  let at = 1;
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    const byte = bytes[at++];
    length += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) break;
  }
  return { key: bytes[0], lengthBytes: at - 1, content: bytes.subarray(at, at + length) };
}

describe('ProtobufWriter', () => {
  it.each([0, 1, 127, 128, 300, 16383, 16384, 70000])('writes a wide message of %i bytes with its length as a canonical varint', (size) => {
    const writer = new ProtobufWriter(16);
    writer.tag(1, 0);
    writer.varint(7);
    const content = Buffer.from(Array.from({ length: size }, (_, i) => i % 251));
    const at = writer.beginWide(2);
    writer.raw(content);
    writer.endWide(at);
    writer.tag(3, 0);
    writer.varint(9);
    const bytes = writer.copy();
    expect([...bytes.subarray(0, 2)]).toEqual([0x08, 7]);
    const field = readField(bytes.subarray(2));
    expect(field.key).toBe(0x12);
    expect(field.lengthBytes).toBe(varintSize(size));
    expect(field.content.equals(content)).toBe(true);
    // The field after it follows straight on: no byte was left over.
    expect([...bytes.subarray(2 + 1 + field.lengthBytes + size)]).toEqual([0x18, 9]);
  });

  it('writes the same bytes for a wide message as for one begun the usual way', () => {
    const wide = new ProtobufWriter(8);
    const usual = new ProtobufWriter(8);
    for (const size of [5, 200, 20000]) {
      const text = 'é'.repeat(size);
      const a = wide.beginWide(2);
      wide.stringField(1, text);
      wide.endWide(a);
      const b = usual.begin(2);
      usual.stringField(1, text);
      usual.end(b);
    }
    expect(wide.copy().equals(usual.copy())).toBe(true);
  });
});
