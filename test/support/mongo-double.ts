import { BSON, Long, type Document } from 'bson';
import type { Server } from 'node:net';
import type { DatabaseServer } from './servers.js';
import { TcpDouble } from './tcp-double.js';

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_MSG = 2013;
const CHECKSUM_PRESENT = 1;
const MORE_TO_COME = 2;
/** The collection whose every command fails, for spans of failed operations. */
export const BROKEN_COLLECTION = 'broken';

/**
 * A stand-in for a MongoDB server: no Debian package provides one, and mongodb-memory-server downloads a binary at
 * run time, which cannot be had here. It speaks as much of the wire protocol as the Node driver and Mongoose use for
 * plain reads and writes (OP_MSG, and OP_QUERY for the legacy handshake), keeps documents in memory, matches
 * filters on plain field equality, and answers every command on {@link BROKEN_COLLECTION} with an error. The
 * driver's instrumentation patches the driver's connection, so its spans are what a real server would give; what a
 * real server adds (query planning, real errors) is not simulated.
 */
export class MongoDouble extends TcpDouble implements DatabaseServer {
  readonly user = '';
  readonly password = '';
  readonly database = 'shop';
  /** The names of the commands received, in order, for tests that check what reached the server. */
  readonly received: string[] = [];
  private readonly collections = new Map<string, Document[]>();
  private nextRequestId = 1;

  private constructor(server: Server) {
    super(server);
  }

  /** Starts the double on a free port on 127.0.0.1. */
  static async start(): Promise<MongoDouble> {
    return new MongoDouble(await TcpDouble.listen());
  }

  /** A wire message starts with its whole length, header included. */
  protected frameLength(pending: Buffer): number {
    return pending.readInt32LE(0);
  }

  /** The reply to one wire message, or undefined when the client asked for none. */
  protected answer(message: Buffer, connectionId: number): Buffer | undefined {
    const requestId = message.readInt32LE(4);
    const opCode = message.readInt32LE(12);
    if (opCode === OP_MSG) {
      const flags = message.readUInt32LE(16);
      const reply = this.run(readMessageCommand(message, flags), connectionId);
      return flags & MORE_TO_COME ? undefined : this.opMsg(requestId, reply);
    }
    if (opCode === OP_QUERY) return this.opReply(requestId, this.run(readQueryCommand(message), connectionId));
    return undefined;
  }

  private run(command: Document, connectionId: number): Document {
    const name = Object.keys(command)[0] ?? '';
    this.received.push(name);
    const database = String(command.$db ?? 'admin');
    const collection = typeof command[name] === 'string' ? String(command[name]) : '';
    const namespace = `${database}.${collection}`;
    if (collection === BROKEN_COLLECTION) return { ok: 0, errmsg: `${name} on ${BROKEN_COLLECTION} is refused`, code: 2, codeName: 'BadValue' };
    switch (name.toLowerCase()) {
      case 'hello':
      case 'ismaster':
        return {
          helloOk: true,
          ismaster: true,
          isWritablePrimary: true,
          maxBsonObjectSize: 16 * 1024 * 1024,
          maxMessageSizeBytes: 48_000_000,
          maxWriteBatchSize: 100_000,
          localTime: new Date(),
          logicalSessionTimeoutMinutes: 30,
          connectionId,
          minWireVersion: 0,
          maxWireVersion: 21,
          readOnly: false,
          ok: 1,
        };
      case 'buildinfo':
        return { version: '7.0.0', versionArray: [7, 0, 0, 0], ok: 1 };
      case 'find':
        return cursorReply(namespace, this.documents(namespace).filter((doc) => matches(doc, command.filter)).slice(0, command.limit || undefined));
      case 'aggregate':
      case 'listcollections':
        return cursorReply(namespace, []);
      case 'listindexes':
        return cursorReply(namespace, [{ v: 2, key: { _id: 1 }, name: '_id_' }]);
      case 'insert': {
        const documents = (command.documents ?? []) as Document[];
        this.documents(namespace).push(...documents);
        return { n: documents.length, ok: 1 };
      }
      case 'update':
        return this.update(namespace, (command.updates ?? []) as Document[]);
      case 'delete': {
        const kept = this.documents(namespace).filter((doc) => !((command.deletes ?? []) as Document[]).some((d) => matches(doc, d.q)));
        const removed = this.documents(namespace).length - kept.length;
        this.collections.set(namespace, kept);
        return { n: removed, ok: 1 };
      }
      case 'createindexes':
        return { numIndexesBefore: 1, numIndexesAfter: 2, createdCollectionAutomatically: false, ok: 1 };
      case 'ping':
      case 'endsessions':
      case 'create':
      case 'drop':
      case 'killcursors':
        return { ok: 1 };
      default:
        return { ok: 0, errmsg: `no such command: '${name}'`, code: 59, codeName: 'CommandNotFound' };
    }
  }

  private documents(namespace: string): Document[] {
    let documents = this.collections.get(namespace);
    if (!documents) this.collections.set(namespace, (documents = []));
    return documents;
  }

  /** Applies `$set` updates (the only operator the fixtures use) to the matching documents. */
  private update(namespace: string, updates: Document[]): Document {
    let matched = 0;
    for (const { q, u, multi } of updates) {
      for (const doc of this.documents(namespace).filter((d) => matches(d, q)).slice(0, multi ? undefined : 1)) {
        Object.assign(doc, (u as Document).$set ?? {});
        matched++;
      }
    }
    return { n: matched, nModified: matched, ok: 1 };
  }

  /** An OP_MSG reply: no flags, one body section. */
  private opMsg(responseTo: number, reply: Document): Buffer {
    const prefix = Buffer.alloc(5);
    return this.frame(OP_MSG, responseTo, prefix, reply);
  }

  /** An OP_REPLY to a legacy query: no flags, no cursor, starting at 0, one document. */
  private opReply(responseTo: number, reply: Document): Buffer {
    const prefix = Buffer.alloc(20);
    prefix.writeInt32LE(1, 16);
    return this.frame(OP_REPLY, responseTo, prefix, reply);
  }

  /** The standard message header, then the op code's own fields (`prefix`), then the document. */
  private frame(opCode: number, responseTo: number, prefix: Buffer, reply: Document): Buffer {
    const body = BSON.serialize(reply);
    const header = Buffer.alloc(16);
    header.writeInt32LE(16 + prefix.length + body.length, 0);
    header.writeInt32LE(this.nextRequestId++, 4);
    header.writeInt32LE(responseTo, 8);
    header.writeInt32LE(opCode, 12);
    return Buffer.concat([header, prefix, body]);
  }
}

/** The command of an OP_MSG: its body section, with each document sequence (kind 1) added under its name. */
function readMessageCommand(message: Buffer, flags: number): Document {
  const end = flags & CHECKSUM_PRESENT ? message.length - 4 : message.length;
  let command: Document = {};
  const sequences: Document = {};
  let at = 20;
  while (at < end) {
    const kind = message[at++];
    const size = message.readInt32LE(at);
    if (kind === 0) {
      command = BSON.deserialize(message.subarray(at, at + size));
      at += size;
      continue;
    }
    const sectionEnd = at + size;
    const nameEnd = message.indexOf(0, at + 4);
    const name = message.toString('utf8', at + 4, nameEnd);
    const documents: Document[] = [];
    for (let doc = nameEnd + 1; doc < sectionEnd; doc += message.readInt32LE(doc)) documents.push(BSON.deserialize(message.subarray(doc, doc + message.readInt32LE(doc))));
    sequences[name] = documents;
    at = sectionEnd;
  }
  return { ...command, ...sequences };
}

/** The command of a legacy OP_QUERY on `<db>.$cmd`, which drivers still use for the first handshake. */
function readQueryCommand(message: Buffer): Document {
  const nameEnd = message.indexOf(0, 20);
  const queryAt = nameEnd + 1 + 8;
  const query = BSON.deserialize(message.subarray(queryAt, queryAt + message.readInt32LE(queryAt)));
  return (query.$query as Document | undefined) ?? query;
}

function cursorReply(namespace: string, firstBatch: Document[]): Document {
  return { cursor: { firstBatch, id: Long.ZERO, ns: namespace }, ok: 1 };
}

/** Plain equality on each field of the filter; operators (`$in`, `$gt`) match everything. */
function matches(doc: Document, filter: unknown): boolean {
  if (filter === null || typeof filter !== 'object') return true;
  return Object.entries(filter as Document).every(([key, value]) => {
    if (key.startsWith('$') || (value !== null && typeof value === 'object' && Object.keys(value).some((k) => k.startsWith('$')))) return true;
    return String(doc[key]) === String(value);
  });
}
