import type { Context } from '@opentelemetry/api';

/** The one node of a context that holds a value, for the value to replace itself there later. */
export interface ContextSlot {
  replaceValue(value: unknown): void;
}

/**
 * Implemented by values that want the node holding them: the library's spans, which replace themselves once
 * ended (see `LibrarySpan`), so that a context kept alive after its request (Node's keep-alive timer keeps the last
 * one of each connection) no longer keeps the span's data.
 */
export const HELD_IN_CONTEXT: unique symbol = Symbol('nestjs-tracing.held-in-context');

interface HeldInContext {
  [HELD_IN_CONTEXT](slot: ContextSlot): void;
}

/** Marks a key deleted in a node, so that the ancestors' value for it is hidden. */
const DELETED: unique symbol = Symbol('nestjs-tracing.deleted-context-value');

/**
 * Past this many nodes a lookup would walk too far (deeply nested spans, many baggage updates), so the chain is
 * folded into one node holding every value.
 */
const MAX_DEPTH = 16;

/**
 * An OpenTelemetry `Context` as a persistent linked list: `setValue` adds one small node in front of its parent
 * instead of copying a Map and creating three closures, as the API's own context does for every value set. A
 * request sets two or three values (the caller's span context, the server span, the handler span) and reads the
 * newest, so lookups stop at the first node or two. Immutable to everyone who reads it, like every context; the
 * one change is a library span putting a stand-in with its own span context in its place once it has ended.
 */
class LinkedContext implements Context, ContextSlot {
  constructor(
    private readonly parent: LinkedContext | undefined,
    private readonly key: symbol | undefined,
    /** Changed only by the value itself, through {@link replaceValue}. */
    private value: unknown,
    private readonly depth: number,
    /** Every value, for a folded chain (it has no parent). */
    private readonly folded?: ReadonlyMap<symbol, unknown>,
  ) {}

  getValue(key: symbol): unknown {
    let node: LinkedContext | undefined = this;
    while (node !== undefined) {
      if (node.key === key) return node.value === DELETED ? undefined : node.value;
      if (node.folded !== undefined) return node.folded.get(key);
      node = node.parent;
    }
    return undefined;
  }

  setValue(key: symbol, value: unknown): Context {
    return this.add(key, value);
  }

  deleteValue(key: symbol): Context {
    return this.getValue(key) === undefined ? this : this.add(key, DELETED);
  }

  /** For the value this node holds only: a span that ended puts a stand-in with the same span context here. */
  replaceValue(value: unknown): void {
    this.value = value;
  }

  private add(key: symbol, value: unknown): LinkedContext {
    if (this.depth < MAX_DEPTH) {
      const node = new LinkedContext(this, key, value, this.depth + 1);
      if (typeof value === 'object' && value !== null && HELD_IN_CONTEXT in value) (value as HeldInContext)[HELD_IN_CONTEXT](node);
      return node;
    }
    const values = this.values();
    if (value === DELETED) values.delete(key);
    else values.set(key, value);
    return new LinkedContext(undefined, undefined, undefined, 1, values);
  }

  /** The values this context holds, newest winning. */
  private values(): Map<symbol, unknown> {
    const nodes: LinkedContext[] = [];
    let node: LinkedContext | undefined = this;
    for (; node !== undefined && node.folded === undefined; node = node.parent) nodes.push(node);
    const values = new Map(node?.folded);
    for (let i = nodes.length - 1; i >= 0; i--) {
      const { key, value } = nodes[i];
      if (key === undefined) continue;
      if (value === DELETED) values.delete(key);
      else values.set(key, value);
    }
    return values;
  }
}

/**
 * The empty context the library builds request and message contexts on. It holds what `ROOT_CONTEXT` holds
 * (nothing); contexts derived from it are {@link LinkedContext}s, and so are all contexts derived from those.
 */
export const LIBRARY_ROOT_CONTEXT: Context = new LinkedContext(undefined, undefined, undefined, 0);
