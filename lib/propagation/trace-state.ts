import type { TraceState } from '@opentelemetry/api';
import { withoutOws } from './traceparent.js';

/** The most list members a `tracestate` may carry, across all of a request's `tracestate` headers. */
export const MAX_TRACE_STATE_MEMBERS = 32;

// W3C Trace Context, `tracestate` key: ( lcalpha / DIGIT ) 0*255 ( keychar ), keychar adding _ - * / @.
const KEY = /^[a-z0-9][a-z0-9_\-*/@]{0,255}$/;
// Value: 0*255( chr ) nblk-chr, printable ASCII without "," and "=", not ending in a space.
const VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

type Member = readonly [key: string, value: string];

/**
 * A `tracestate` list held as the W3C Trace Context specifies it: members in order, left-most most recent.
 * Immutable, as the OpenTelemetry API expects: `set` and `unset` return a new list.
 */
export class W3CTraceState implements TraceState {
  private constructor(private readonly members: readonly Member[]) {}

  /** An empty list, to which a service adds its own entry. */
  static empty(): W3CTraceState {
    return new W3CTraceState([]);
  }

  /**
   * Reads the `tracestate` header, or several of them (one list, joined in order). Returns undefined when the
   * list must be discarded: a member that breaks the grammar, or more than 32 members. Empty and whitespace-only
   * members are skipped and not counted. When a key repeats, its left-most member is kept: the specification
   * leaves keys unique to the sender and lets a receiver drop the duplicates.
   */
  static parse(header: string | readonly string[] | undefined): W3CTraceState | undefined {
    if (header === undefined) return undefined;
    const list = typeof header === 'string' ? header : header.join(',');
    const members: Member[] = [];
    const seen = new Set<string>();
    let count = 0;
    for (const raw of list.split(',')) {
      const member = withoutOws(raw);
      if (member === '') continue;
      if (++count > MAX_TRACE_STATE_MEMBERS) return undefined;
      const equals = member.indexOf('=');
      if (equals < 0) return undefined;
      const key = member.slice(0, equals);
      const value = member.slice(equals + 1);
      if (!KEY.test(key) || !VALUE.test(value)) return undefined;
      if (seen.has(key)) continue;
      seen.add(key);
      members.push([key, value]);
    }
    return new W3CTraceState(members);
  }

  /**
   * Adds or updates an entry: it moves to the left, and right-most members go to stay within 32. An invalid key
   * or value leaves the list as it was, so that a bad entry never costs the others.
   */
  set(key: string, value: string): W3CTraceState {
    if (!KEY.test(key) || !VALUE.test(value)) return this;
    const others = this.members.filter(([existing]) => existing !== key);
    return new W3CTraceState([[key, value] as const, ...others].slice(0, MAX_TRACE_STATE_MEMBERS));
  }

  unset(key: string): W3CTraceState {
    if (!this.members.some(([existing]) => existing === key)) return this;
    return new W3CTraceState(this.members.filter(([existing]) => existing !== key));
  }

  get(key: string): string | undefined {
    return this.members.find(([existing]) => existing === key)?.[1];
  }

  /** The keys, left to right. */
  keys(): string[] {
    return this.members.map(([key]) => key);
  }

  /** The header value, members left to right without whitespace; empty when there are none. */
  serialize(): string {
    return this.members.map(([key, value]) => `${key}=${value}`).join(',');
  }
}
