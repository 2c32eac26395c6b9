import { HEX_PAIR_BYTE } from '../sdk/span-ids.js';

/**
 * A protobuf writer over one growing, reused byte buffer: fields are written in place, and a nested message's
 * length is written in front of it once its end is known (one byte reserved, moved up in the rare case the
 * message is 128 bytes or longer). Nothing is allocated per field.
 */
export class ProtobufWriter {
  /** The bytes written so far are `buffer[0, length)`. */
  buffer: Buffer;
  length = 0;
  private readonly lastTraceId: DecodedId = { hex: '', bytes: new Uint8Array(16) };
  private readonly lastSpanId: DecodedId = { hex: '', bytes: new Uint8Array(8) };

  constructor(initialBytes = 64 * 1024) {
    this.buffer = Buffer.allocUnsafe(initialBytes);
  }

  /** Forgets what was written, keeping the buffer for the next message. */
  reset(): void {
    this.length = 0;
  }

  /** A copy of what was written, safe to keep after the writer is reused. */
  copy(from = 0): Buffer {
    return Buffer.from(this.buffer.subarray(from, this.length));
  }

  private ensure(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  /** A field key: field number and wire type (0 varint, 1 fixed64, 2 length-delimited, 5 fixed32). */
  tag(field: number, wireType: number): void {
    const key = (field << 3) | wireType;
    // Every field of the OTLP span messages has a one-byte key.
    if (key > 0x7f) return this.varint(key);
    this.ensure(1);
    this.buffer[this.length++] = key;
  }

  /** An unsigned varint of up to 53 bits. */
  varint(value: number): void {
    this.ensure(10);
    const buffer = this.buffer;
    let at = this.length;
    while (value > 0x7f) {
      buffer[at++] = (value & 0x7f) | 0x80;
      value = value > 0xffffffff ? Math.floor(value / 128) : value >>> 7;
    }
    buffer[at++] = value;
    this.length = at;
  }

  /** A signed 64-bit integer as protobuf's `int64` (two's complement for negatives: ten bytes). */
  int64(value: number): void {
    if (value >= 0) return this.varint(value);
    const big = BigInt.asUintN(64, BigInt(Math.trunc(value)));
    this.ensure(10);
    let rest = big;
    while (rest > 0x7fn) {
      this.buffer[this.length++] = Number(rest & 0x7fn) | 0x80;
      rest >>= 7n;
    }
    this.buffer[this.length++] = Number(rest);
  }

  fixed32(value: number): void {
    this.ensure(4);
    this.putUint32(value);
  }

  /** A fixed64 given as its low and high 32-bit halves. */
  fixed64(low: number, high: number): void {
    this.ensure(8);
    this.putUint32(low);
    this.putUint32(high);
  }

  private putUint32(value: number): void {
    const buffer = this.buffer;
    const at = this.length;
    buffer[at] = value;
    buffer[at + 1] = value >>> 8;
    buffer[at + 2] = value >>> 16;
    buffer[at + 3] = value >>> 24;
    this.length = at + 4;
  }

  double(value: number): void {
    this.ensure(8);
    this.buffer.writeDoubleLE(value, this.length);
    this.length += 8;
  }

  /** A string field (UTF-8). */
  stringField(field: number, value: string): void {
    this.tag(field, 2);
    // Up to 42 UTF-16 units are at most 126 UTF-8 bytes: a one-byte length, written after the text.
    if (value.length <= 42) {
      this.ensure(1 + value.length * 3);
      const buffer = this.buffer;
      const start = this.length + 1;
      let at = start;
      // ASCII, the common case, byte by byte: cheaper than a call into the UTF-8 encoder for short text.
      for (let i = 0; i < value.length; i++) {
        const code = value.charCodeAt(i);
        if (code >= 0x80) {
          at = start + buffer.write(value, start, 'utf8');
          break;
        }
        buffer[at++] = code;
      }
      buffer[this.length] = at - start;
      this.length = at;
      return;
    }
    const bytes = Buffer.byteLength(value, 'utf8');
    this.varint(bytes);
    this.ensure(bytes);
    this.buffer.write(value, this.length, bytes, 'utf8');
    this.length += bytes;
  }

  /**
   * A string field whose value recurs (an attribute key, a span name): its UTF-8 length and bytes are encoded once
   * and copied after that, which costs a third of encoding the text again. Values that vary per span (paths, ids)
   * belong in {@link stringField}, or they would only fill the cache.
   */
  recurringStringField(field: number, value: string): void {
    let encoded = ENCODED_STRINGS.get(value);
    if (encoded === undefined) {
      if (ENCODED_STRINGS.size >= MAX_ENCODED_STRINGS || value.length > MAX_ENCODED_STRING_LENGTH) return this.stringField(field, value);
      encoded = encodeLengthDelimited(value);
      ENCODED_STRINGS.set(value, encoded);
    }
    this.tag(field, 2);
    this.raw(encoded);
  }

  /**
   * A bytes field holding the binary form of a lowercase hex id (trace or span id). The last id of each length is
   * kept decoded: the spans of one request end together and repeat their trace id and each other's span ids.
   */
  hexField(field: number, hex: string): void {
    this.hexAt(this.bytesFieldSlot(field, hex.length >>> 1), hex);
  }

  /**
   * Writes the key and length of a bytes field of `size` bytes and returns where its content goes, for the caller
   * to fill (all of it) at once.
   */
  bytesFieldSlot(field: number, size: number): number {
    if (field > 15 || size > 0x7f) {
      this.tag(field, 2);
      this.varint(size);
      this.ensure(size);
      const at = this.length;
      this.length = at + size;
      return at;
    }
    // A one-byte key and a one-byte length, as every id field has: one bounds check for the three parts.
    this.ensure(2 + size);
    const buffer = this.buffer;
    const at = this.length;
    buffer[at] = (field << 3) | 2;
    buffer[at + 1] = size;
    this.length = at + 2 + size;
    return at + 2;
  }

  /** Decodes a lowercase hex id into the buffer at `at`, its slot (see {@link hexField}). */
  hexAt(at: number, hex: string): void {
    const bytes = hex.length >>> 1;
    const buffer = this.buffer;
    const memo = bytes === 16 ? this.lastTraceId : bytes === 8 ? this.lastSpanId : undefined;
    if (memo !== undefined && memo.hex === hex) {
      const decoded = memo.bytes;
      for (let i = 0; i < bytes; i++) buffer[at + i] = decoded[i];
      return;
    }
    // One table load per byte, indexed by both digits' character codes; a pair that is not hex digits reads 0.
    for (let i = 0; i < bytes; i++) buffer[at + i] = HEX_PAIR_BYTE[((hex.charCodeAt(2 * i) & 0x7f) << 7) | (hex.charCodeAt(2 * i + 1) & 0x7f)];
    if (memo === undefined) return;
    memo.hex = hex;
    for (let i = 0; i < bytes; i++) memo.bytes[i] = buffer[at + i];
  }

  bytesField(field: number, bytes: Uint8Array): void {
    this.tag(field, 2);
    this.varint(bytes.length);
    this.raw(bytes);
  }

  /** Bytes that are already protobuf, written as they are. */
  raw(bytes: Uint8Array): void {
    const size = bytes.length;
    this.ensure(size);
    const buffer = this.buffer;
    const at = this.length;
    // A short copy is cheaper as a loop than as a call to `set`.
    if (size <= 16) for (let i = 0; i < size; i++) buffer[at + i] = bytes[i];
    else buffer.set(bytes, at);
    this.length = at + size;
  }

  /** Starts a nested message field; pass the result to {@link end} once its content is written. */
  begin(field: number): number {
    this.tag(field, 2);
    this.ensure(1);
    return this.length++;
  }

  /**
   * Starts a nested message that is usually 128 bytes to 16 KiB long (a span): two bytes are reserved for its
   * length, so that {@link endWide} writes it in place where {@link end} would move the whole message up a byte.
   */
  beginWide(field: number): number {
    this.tag(field, 2);
    this.ensure(2);
    const at = this.length;
    this.length += 2;
    return at;
  }

  /** Writes the length of the message begun with {@link beginWide} at `lengthAt`, moving it only when it is short or long. */
  endWide(lengthAt: number): void {
    const size = this.length - lengthAt - 2;
    if (size >= 0x80 && size < 0x4000) {
      this.buffer[lengthAt] = (size & 0x7f) | 0x80;
      this.buffer[lengthAt + 1] = size >>> 7;
      return;
    }
    // One byte of the two is spare: close the gap, then write the length as a one-byte-reserved message would.
    this.buffer.copyWithin(lengthAt + 1, lengthAt + 2, this.length);
    this.length--;
    this.end(lengthAt);
  }

  /** Writes the length of the message begun at `lengthAt` in front of its content. */
  end(lengthAt: number): void {
    const size = this.length - lengthAt - 1;
    if (size < 0x80) {
      this.buffer[lengthAt] = size;
      return;
    }
    const extra = varintSize(size) - 1;
    this.ensure(extra);
    this.buffer.copyWithin(lengthAt + 1 + extra, lengthAt + 1, this.length);
    let at = lengthAt;
    let value = size;
    while (value > 0x7f) {
      this.buffer[at++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    this.buffer[at] = value;
    this.length += extra;
  }
}

/** An id as hex and as the bytes it stands for. */
interface DecodedId {
  hex: string;
  readonly bytes: Uint8Array;
}

/**
 * Recurring strings as their length varint and UTF-8 bytes, shared by every writer. Bounded, for an app that names
 * spans or keys attributes with unbounded values: past the bound, new strings are encoded each time.
 */
const ENCODED_STRINGS = new Map<string, Uint8Array>();
const MAX_ENCODED_STRINGS = 4096;
/** A longer name or key is encoded each time, so that the cache stays small (at most about 1 MB). */
const MAX_ENCODED_STRING_LENGTH = 256;

function encodeLengthDelimited(value: string): Uint8Array {
  const text = Buffer.from(value, 'utf8');
  const size = varintSize(text.length);
  const encoded = new Uint8Array(size + text.length);
  let length = text.length;
  let at = 0;
  while (length > 0x7f) {
    encoded[at++] = (length & 0x7f) | 0x80;
    length >>>= 7;
  }
  encoded[at++] = length;
  encoded.set(text, at);
  return encoded;
}

/** Bytes a varint of `value` takes. */
export function varintSize(value: number): number {
  let size = 1;
  while (value > 0x7f) {
    value = value > 0xffffffff ? Math.floor(value / 128) : value >>> 7;
    size++;
  }
  return size;
}
