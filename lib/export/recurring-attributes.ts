import { ProtobufWriter } from './protobuf-writer.js';

type PrimitiveValue = string | number | boolean;

/** Distinct values a key may have before it counts as varying (a path, an id) and its values are no longer kept. */
const MAX_VALUES_PER_KEY = 32;
/** Keys kept in all, for apps whose attribute keys themselves vary. */
const MAX_KEYS = 1024;
/** Longer strings are rarely repeated exactly, and would make the cache large. */
const MAX_STRING_LENGTH = 256;

/**
 * Encoded OTLP `KeyValue` messages (key and value) for attributes whose values recur: most of a span's attributes
 * are the same from one request to the next (method, scheme, route, controller, handler, status code), and copying
 * the encoded entry costs a fraction of encoding key and value again. Keys are learned as spans are encoded: a key
 * seen with more than {@link MAX_VALUES_PER_KEY} values is marked varying and its entries are dropped, so memory
 * stays bounded (at most {@link MAX_KEYS} keys × that many values, each at most a few hundred bytes).
 */
export class RecurringAttributes {
  /** Entries by key, then value; `null` for a key whose values vary. */
  private readonly byKey = new Map<string, Map<PrimitiveValue, Uint8Array> | null>();
  private readonly scratch = new ProtobufWriter(1024);

  constructor(private readonly encodeValue: (writer: ProtobufWriter, field: number, value: unknown) => void) {}

  /** The encoded `KeyValue` content for `key` = `value`, or undefined when the pair is not one to keep. */
  entryFor(key: string, value: unknown): Uint8Array | undefined {
    let values = this.byKey.get(key);
    if (values === null) return undefined;
    if (!isKeptValue(value)) return undefined;
    if (values === undefined) {
      if (this.byKey.size >= MAX_KEYS) return undefined;
      values = new Map();
      this.byKey.set(key, values);
    }
    const entry = values.get(value);
    if (entry !== undefined) return entry;
    if (values.size >= MAX_VALUES_PER_KEY) {
      this.byKey.set(key, null);
      return undefined;
    }
    const encoded = this.encode(key, value);
    values.set(value, encoded);
    return encoded;
  }

  private encode(key: string, value: PrimitiveValue): Uint8Array {
    const writer = this.scratch;
    writer.reset();
    writer.stringField(1, key);
    this.encodeValue(writer, 2, value);
    return writer.copy();
  }
}

function isKeptValue(value: unknown): value is PrimitiveValue {
  switch (typeof value) {
    case 'string':
      return value.length <= MAX_STRING_LENGTH;
    case 'number':
    case 'boolean':
      return true;
    default:
      return false;
  }
}

/** Nodes kept in all by {@link RecurringAttributeRuns}, and the longest run of bytes one holds. */
const MAX_RUN_NODES = 2048;
const MAX_RUN_BYTES = 2048;

/** A run of recurring entries, framed as fields and joined, with the runs that extend it by one pair. */
interface RunNode {
  readonly bytes: Uint8Array;
  /** The runs one attribute longer, by that attribute's key, then value. */
  readonly next: Map<string, Map<PrimitiveValue, RunNode>>;
  /**
   * The pair this run was last followed by, and where it led: spans of one route repeat their attributes, so this
   * answers most lookups with two comparisons instead of two Map lookups.
   */
  recentKey: string | undefined;
  recentValue: PrimitiveValue | undefined;
  recentNext: RunNode | undefined;
}

function runNode(bytes: Uint8Array): RunNode {
  return { bytes, next: new Map(), recentKey: undefined, recentValue: undefined, recentNext: undefined };
}

/**
 * Runs of recurring attribute entries as one block of bytes: a span's attributes mostly come in the same order with
 * the same values each time (a handler span's are all route-level), so a run of cached entries is found pair by
 * pair in a tree and written with one copy. A run is followed by key and value, two lookups an attribute, before
 * the pair's own entry is looked for; an entry that is not cached ends the run, and a new run starts after it.
 */
export class RecurringAttributeRuns {
  private readonly root: RunNode = runNode(new Uint8Array(0));
  private nodes = 0;

  constructor(
    /** The field the entries are framed as (`Span.attributes`, say). */
    private readonly field: number,
  ) {}

  /** Where a run starts. */
  get start(): RunNode {
    return this.root;
  }

  /** The run `node` followed by `key` = `value`, when that run was made before. */
  follow(node: RunNode, key: string, value: unknown): RunNode | undefined {
    // Map keys match by SameValueZero, `===` alike but for NaN, which is left to the Map.
    if (node.recentKey === key && node.recentValue === value) return node.recentNext;
    const next = node.next.get(key)?.get(value as PrimitiveValue);
    if (next === undefined) return undefined;
    node.recentKey = key;
    node.recentValue = value as PrimitiveValue;
    node.recentNext = next;
    return next;
  }

  /**
   * The run `node` extended by `key` = `value`, whose cached entry is `entry`, or undefined when the bounds keep it
   * from growing.
   */
  extend(node: RunNode, key: string, value: PrimitiveValue, entry: Uint8Array): RunNode | undefined {
    const known = this.follow(node, key, value);
    if (known !== undefined) return known;
    if (this.nodes >= MAX_RUN_NODES) return undefined;
    const framing = new ProtobufWriter(16);
    framing.tag(this.field, 2);
    framing.varint(entry.length);
    const size = node.bytes.length + framing.length + entry.length;
    if (size > MAX_RUN_BYTES) return undefined;
    const bytes = new Uint8Array(size);
    bytes.set(node.bytes, 0);
    bytes.set(framing.buffer.subarray(0, framing.length), node.bytes.length);
    bytes.set(entry, node.bytes.length + framing.length);
    const extended = runNode(bytes);
    let byValue = node.next.get(key);
    if (byValue === undefined) {
      byValue = new Map();
      node.next.set(key, byValue);
    }
    byValue.set(value, extended);
    this.nodes++;
    return extended;
  }
}

export type { PrimitiveValue, RunNode };
