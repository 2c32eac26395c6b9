import type { Server } from 'node:net';
import { TcpDouble } from './tcp-double.js';

const PRODUCE = 0;
const METADATA = 3;
const API_VERSIONS = 18;
/** The versions the double speaks: the client picks the highest it shares. Produce v3 is the first with headers. */
const SUPPORTED: [apiKey: number, min: number, max: number][] = [
  [PRODUCE, 3, 3],
  [METADATA, 0, 1],
  [API_VERSIONS, 0, 2],
];
const UNSUPPORTED_VERSION = 35;
const NODE_ID = 0;

/** A record the double received, as a consumer would see it. */
export interface ProducedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: Record<string, string>;
}

/**
 * A stand-in for a Kafka broker: no Debian package provides one. It speaks the part of the protocol a producer
 * uses (ApiVersions, Metadata v0-1, Produce v3 with v2 record batches, uncompressed), says every topic exists with
 * one partition it leads, and keeps the records it receives, headers included, so that a test can read what a
 * consumer would get. Consumer groups (JoinGroup, Fetch...) are not spoken.
 */
export class KafkaDouble extends TcpDouble {
  readonly records: ProducedRecord[] = [];
  private offset = 0;

  private constructor(server: Server) {
    super(server);
  }

  /** Starts the double on a free port on 127.0.0.1. */
  static async start(): Promise<KafkaDouble> {
    return new KafkaDouble(await TcpDouble.listen());
  }

  /** A request is its size (4 bytes, not counting themselves), then that many bytes. */
  protected frameLength(pending: Buffer): number {
    return 4 + pending.readInt32BE(0);
  }

  /** The framed response to one request (size, correlation id, body), or undefined when none is due. */
  protected answer(frame: Buffer): Buffer | undefined {
    const request = new Reader(frame.subarray(4));
    const apiKey = request.int16();
    const version = request.int16();
    const correlationId = request.int32();
    request.nullableString(); // client id
    const body = new Writer();
    if (apiKey === API_VERSIONS) this.apiVersions(body, version);
    else if (apiKey === METADATA) this.metadata(request, body);
    else if (apiKey === PRODUCE) {
      const acks = this.produce(request, body);
      if (acks === 0) return undefined;
    } else return undefined;
    const payload = body.bytes();
    const header = Buffer.alloc(8);
    header.writeInt32BE(4 + payload.length, 0);
    header.writeInt32BE(correlationId, 4);
    return Buffer.concat([header, payload]);
  }

  private apiVersions(body: Writer, version: number): void {
    // A version the double does not speak is answered in v0 form, as brokers do, so the client tries a lower one.
    const known = version <= 2;
    body.int16(known ? 0 : UNSUPPORTED_VERSION);
    body.int32(SUPPORTED.length);
    for (const [apiKey, min, max] of SUPPORTED) {
      body.int16(apiKey);
      body.int16(min);
      body.int16(max);
    }
    if (known && version >= 1) body.int32(0);
  }

  /** Every topic asked for exists, with partition 0 led by this broker. */
  private metadata(request: Reader, body: Writer): void {
    const count = request.int32();
    const topics = Array.from({ length: Math.max(count, 0) }, () => request.string());
    body.int32(1);
    body.int32(NODE_ID);
    body.string('127.0.0.1');
    body.int32(this.port);
    body.nullableString(null);
    body.int32(NODE_ID);
    body.int32(topics.length);
    for (const topic of topics) {
      body.int16(0);
      body.string(topic);
      body.int8(0);
      body.int32(1);
      body.int16(0);
      body.int32(0);
      body.int32(NODE_ID);
      body.int32(1);
      body.int32(NODE_ID);
      body.int32(1);
      body.int32(NODE_ID);
    }
  }

  /** Keeps the records of a Produce v3 request; returns its `acks`, since `acks: 0` wants no answer. */
  private produce(request: Reader, body: Writer): number {
    request.nullableString(); // transactional id
    const acks = request.int16();
    request.int32(); // timeout
    const answers: [string, number[]][] = [];
    for (let t = request.int32(); t > 0; t--) {
      const topic = request.string();
      const partitions: number[] = [];
      for (let p = request.int32(); p > 0; p--) {
        const partition = request.int32();
        const batch = new Reader(request.bytes());
        for (const record of readRecordBatch(batch)) this.records.push({ topic, partition, ...record });
        partitions.push(partition);
      }
      answers.push([topic, partitions]);
    }
    body.int32(answers.length);
    for (const [topic, partitions] of answers) {
      body.string(topic);
      body.int32(partitions.length);
      for (const partition of partitions) {
        body.int32(partition);
        body.int16(0);
        body.int64(this.offset++);
        body.int64(-1);
      }
    }
    body.int32(0);
    return acks;
  }
}

/** The records of a v2 record batch (magic 2), uncompressed. */
function readRecordBatch(batch: Reader): Omit<ProducedRecord, 'topic' | 'partition'>[] {
  const records: Omit<ProducedRecord, 'topic' | 'partition'>[] = [];
  while (batch.remaining() > 0) {
    batch.skip(8); // base offset
    const length = batch.int32();
    const end = batch.position + length;
    batch.skip(4 + 1 + 4 + 2 + 4 + 8 + 8 + 8 + 2 + 4); // leader epoch, magic, crc, attributes, deltas, times, producer
    for (let count = batch.int32(); count > 0; count--) {
      batch.varint(); // record length
      batch.skip(1); // attributes
      batch.varint(); // timestamp delta
      batch.varint(); // offset delta
      const key = batch.varBytes();
      const value = batch.varBytes();
      const headers: Record<string, string> = {};
      for (let h = batch.varint(); h > 0; h--) headers[batch.varBytes()?.toString() ?? ''] = batch.varBytes()?.toString() ?? '';
      records.push({ key: key?.toString() ?? null, value: value?.toString() ?? null, headers });
    }
    batch.position = end;
  }
  return records;
}

/** Big-endian reads over one buffer, as the Kafka protocol encodes. */
class Reader {
  position = 0;

  constructor(private readonly buffer: Buffer) {}

  get length(): number {
    return this.buffer.length;
  }

  remaining(): number {
    return this.buffer.length - this.position;
  }

  skip(bytes: number): void {
    this.position += bytes;
  }

  int16(): number {
    const value = this.buffer.readInt16BE(this.position);
    this.position += 2;
    return value;
  }

  int32(): number {
    const value = this.buffer.readInt32BE(this.position);
    this.position += 4;
    return value;
  }

  string(): string {
    const length = this.int16();
    const text = this.buffer.toString('utf8', this.position, this.position + length);
    this.position += length;
    return text;
  }

  nullableString(): string | null {
    if (this.buffer.readInt16BE(this.position) === -1) {
      this.position += 2;
      return null;
    }
    return this.string();
  }

  bytes(): Buffer {
    const length = this.int32();
    const bytes = this.buffer.subarray(this.position, this.position + length);
    this.position += length;
    return bytes;
  }

  /** A zigzag varint, as record batches encode lengths and deltas. */
  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = this.buffer[this.position++];
      result += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) break;
      shift += 7;
    }
    return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
  }

  /** Bytes with a zigzag varint length; -1 is null. */
  varBytes(): Buffer | null {
    const length = this.varint();
    if (length < 0) return null;
    const bytes = this.buffer.subarray(this.position, this.position + length);
    this.position += length;
    return bytes;
  }
}

/** Big-endian writes, collected into one buffer. */
class Writer {
  private readonly parts: Buffer[] = [];

  int8(value: number): void {
    this.parts.push(Buffer.from([value]));
  }

  int16(value: number): void {
    const part = Buffer.alloc(2);
    part.writeInt16BE(value);
    this.parts.push(part);
  }

  int32(value: number): void {
    const part = Buffer.alloc(4);
    part.writeInt32BE(value);
    this.parts.push(part);
  }

  int64(value: number): void {
    const part = Buffer.alloc(8);
    part.writeBigInt64BE(BigInt(value));
    this.parts.push(part);
  }

  string(value: string): void {
    const text = Buffer.from(value);
    this.int16(text.length);
    this.parts.push(text);
  }

  nullableString(value: string | null): void {
    if (value === null) this.int16(-1);
    else this.string(value);
  }

  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}
