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

  it.each([
    [2, 8],
    [15, 127],
    [16, 8],
    [1, 128],
    [20, 300],
  ])('gives field %i a slot of %i bytes as bytesField frames it, growing the buffer', (field, size) => {
    const content = Buffer.from(Array.from({ length: size }, (_, i) => (i * 7) % 256));
    const slotted = new ProtobufWriter(4);
    slotted.tag(1, 0);
    slotted.varint(5);
    const at = slotted.bytesFieldSlot(field, size);
    content.copy(slotted.buffer, at);
    slotted.tag(3, 0);
    slotted.varint(6);
    const framed = new ProtobufWriter(4);
    framed.tag(1, 0);
    framed.varint(5);
    framed.bytesField(field, content);
    framed.tag(3, 0);
    framed.varint(6);
    expect(slotted.copy().equals(framed.copy())).toBe(true);
  });

  it('decodes a hex id into its slot, the same from memory as the first time', () => {
    const writer = new ProtobufWriter(8);
    const id = '0af7651916cd43dd8448eb211c80319c';
    writer.hexField(1, id);
    writer.hexField(1, id);
    writer.hexField(2, 'b7ad6b7169203331');
    const expected = Buffer.concat([Buffer.from([0x0a, 16]), Buffer.from(id, 'hex'), Buffer.from([0x0a, 16]), Buffer.from(id, 'hex'), Buffer.from([0x12, 8]), Buffer.from('b7ad6b7169203331', 'hex')]);
    expect(writer.copy().equals(expected)).toBe(true);
  });
});
