import type { Attributes, HrTime, Link, SpanContext } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace';
import { LibrarySpanContext } from '../sdk/library-span-context.js';
import { ProtobufWriter } from './protobuf-writer.js';
import { RecurringAttributeRuns, RecurringAttributes, type PrimitiveValue } from './recurring-attributes.js';

/**
 * Encodes finished spans straight into OTLP protobuf bytes (`opentelemetry.proto.trace.v1.Span` and the messages
 * around it), once, as each span ends: no intermediate objects, ids written from hex into the bytes, times split
 * into 32-bit halves without BigInt. The field numbers are those of the OTLP schema; the values are what
 * OpenTelemetry's own transformer produces, which a test checks field by field.
 */

/** `ScopeSpans.spans` (field 2), in which each encoded span is stored ready to be framed. */
const SCOPE_SPANS_SPAN = 2;
const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;

/** Writes one span as a `ScopeSpans.spans` entry (tag, length, `Span` message) at the end of `writer`. */
export function writeSpanEntry(writer: ProtobufWriter, span: ReadableSpan): void {
  const at = writer.beginWide(SCOPE_SPANS_SPAN);
  const context = span.spanContext();
  writeTraceId(writer, 1, context);
  writeSpanId(writer, 2, context);
  const traceState = context.traceState?.serialize();
  if (traceState) writer.stringField(3, traceState);
  const parent = span.parentSpanContext;
  if (parent?.spanId) writeSpanId(writer, 4, parent);
  writer.recurringStringField(5, span.name);
  const kind = span.kind == null ? 0 : span.kind + 1;
  if (kind !== 0) {
    writer.tag(6, 0);
    writer.varint(kind);
  }
  writeTime(writer, 7, span.startTime);
  writeTime(writer, 8, span.endTime);
  writeSpanAttributes(writer, span.attributes);
  writeCount(writer, 10, span.droppedAttributesCount);
  // Indexed loops: an iterator for the (usually empty) event and link arrays would be an allocation per span.
  const { events, links } = span;
  for (let i = 0; i < events.length; i++) writeEvent(writer, events[i]);
  writeCount(writer, 12, span.droppedEventsCount);
  for (let i = 0; i < links.length; i++) writeLink(writer, links[i]);
  writeCount(writer, 14, span.droppedLinksCount);
  writeStatus(writer, span.status.code, span.status.message);
  writer.tag(16, 5);
  writer.fixed32(spanFlags(context, parent?.isRemote));
  writer.endWide(at);
}

/** Encodes a `Resource` message's content (attributes and dropped count), for the export's `ResourceSpans`. */
export function encodeResource(resource: Resource): Buffer {
  const writer = new ProtobufWriter(1024);
  writeAttributes(writer, 1, resource.attributes);
  return writer.copy();
}

/** Encodes an `InstrumentationScope` message's content. */
export function encodeScope(scope: { name: string; version?: string }): Buffer {
  const writer = new ProtobufWriter(256);
  writer.stringField(1, scope.name);
  if (scope.version) writer.stringField(2, scope.version);
  return writer.copy();
}

/**
 * A trace id field. The library's own ids are copied from the random bytes they were made of while the id pool
 * still holds them, which costs a third of decoding the hex digits. The pool holds the ids of about two thousand
 * requests of two spans, so under load nearly every span ends before its pool is refilled; the rest are decoded.
 */
function writeTraceId(writer: ProtobufWriter, field: number, context: SpanContext): void {
  if (!(context instanceof LibrarySpanContext)) return writer.hexField(field, context.traceId);
  const at = writer.bytesFieldSlot(field, 16);
  if (!context.copyTraceId(writer.buffer, at)) writer.hexAt(at, context.traceId);
}

/** A span id field, copied as {@link writeTraceId} copies. */
function writeSpanId(writer: ProtobufWriter, field: number, context: SpanContext): void {
  if (!(context instanceof LibrarySpanContext)) return writer.hexField(field, context.spanId);
  const at = writer.bytesFieldSlot(field, 8);
  if (!context.copySpanId(writer.buffer, at)) writer.hexAt(at, context.spanId);
}

function spanFlags(context: SpanContext, parentIsRemote: boolean | undefined): number {
  return (context.traceFlags & 0xff) | HAS_IS_REMOTE | (parentIsRemote ? IS_REMOTE : 0);
}

function writeCount(writer: ProtobufWriter, field: number, count: number | undefined): void {
  if (!count) return;
  writer.tag(field, 0);
  writer.varint(count);
}

/** Nanoseconds since the epoch as fixed64: `seconds * 1e9 + nanos` exceeds 2^53, so it is built from halves. */
function writeTime(writer: ProtobufWriter, field: number, time: HrTime): void {
  const [seconds, nanos] = time;
  // 1e9 = 1953125 * 2^9: `scaled` stays exact, and shifting it by 9 bits splits into 32-bit halves exactly. The
  // remainder is taken by subtraction: `%` on numbers this large is a call into C.
  const scaled = seconds * 1953125;
  const high = Math.floor(scaled / 0x800000);
  let low = (scaled - high * 0x800000) * 512 + nanos;
  let carry = 0;
  if (low >= 0x100000000 || low < 0) {
    carry = Math.floor(low / 0x100000000);
    low -= carry * 0x100000000;
  }
  writer.tag(field, 1);
  writer.fixed64(low, high + carry);
}

/** Shared by every pipeline: entries depend on nothing but key and value. */
const RECURRING_ATTRIBUTES = new RecurringAttributes(writeAnyValue);
const SPAN_ATTRIBUTES = 9;
const SPAN_ATTRIBUTE_RUNS = new RecurringAttributeRuns(SPAN_ATTRIBUTES);

/** `Span.attributes`, with runs of recurring entries written as one block each. */
function writeSpanAttributes(writer: ProtobufWriter, attributes: Attributes): void {
  writeAttributes(writer, SPAN_ATTRIBUTES, attributes, SPAN_ATTRIBUTE_RUNS);
}

/**
 * Attributes as `KeyValue` fields: a recurring pair as its cached entry, and with `runs`, consecutive cached entries as
 * one block (an entry that is not cached, or a run that cannot grow, ends the block).
 */
function writeAttributes(writer: ProtobufWriter, field: number, attributes: Attributes | undefined, runs?: RecurringAttributeRuns): void {
  if (!attributes) return;
  const start = runs?.start;
  let run = start;
  for (const key in attributes) {
    const value = attributes[key];
    if (run !== undefined) {
      // Most pairs continue a run made before: found by key and value, without their own entry's lookups.
      const followed = runs!.follow(run, key, value);
      if (followed !== undefined) {
        run = followed;
        continue;
      }
    }
    const entry = RECURRING_ATTRIBUTES.entryFor(key, value);
    const extended = entry === undefined || run === undefined ? undefined : runs!.extend(run, key, value as PrimitiveValue, entry);
    if (extended !== undefined) {
      run = extended;
      continue;
    }
    if (run !== start) writer.raw(run!.bytes);
    run = start;
    if (entry !== undefined) {
      writer.bytesField(field, entry);
      continue;
    }
    const at = writer.begin(field);
    writer.recurringStringField(1, key);
    writeAnyValue(writer, 2, value);
    writer.end(at);
  }
  if (run !== start) writer.raw(run!.bytes);
}

/** An `AnyValue` as OpenTelemetry maps attribute values: integers as int, other numbers as double. */
function writeAnyValue(writer: ProtobufWriter, field: number, value: unknown): void {
  const at = writer.begin(field);
  switch (typeof value) {
    case 'string':
      writer.stringField(1, value);
      break;
    case 'boolean':
      writer.tag(2, 0);
      writer.varint(value ? 1 : 0);
      break;
    case 'number':
      if (Number.isInteger(value)) {
        writer.tag(3, 0);
        writer.int64(value);
      } else {
        writer.tag(4, 1);
        writer.double(value);
      }
      break;
    case 'object':
      if (value instanceof Uint8Array) writer.bytesField(7, value);
      else if (Array.isArray(value)) writeArray(writer, value);
      else if (value !== null) writeKeyValueList(writer, value as Record<string, unknown>);
      break;
  }
  writer.end(at);
}

function writeArray(writer: ProtobufWriter, values: unknown[]): void {
  const at = writer.begin(5);
  for (const item of values) writeAnyValue(writer, 1, item);
  writer.end(at);
}

function writeKeyValueList(writer: ProtobufWriter, values: Record<string, unknown>): void {
  const at = writer.begin(6);
  for (const key of Object.keys(values)) {
    const entry = writer.begin(1);
    writer.stringField(1, key);
    writeAnyValue(writer, 2, values[key]);
    writer.end(entry);
  }
  writer.end(at);
}

function writeEvent(writer: ProtobufWriter, event: TimedEvent): void {
  const at = writer.begin(11);
  writeTime(writer, 1, event.time);
  writer.recurringStringField(2, event.name);
  writeAttributes(writer, 3, event.attributes);
  writeCount(writer, 4, event.droppedAttributesCount);
  writer.end(at);
}

function writeLink(writer: ProtobufWriter, link: Link): void {
  const at = writer.begin(13);
  writer.hexField(1, link.context.traceId);
  writer.hexField(2, link.context.spanId);
  const traceState = link.context.traceState?.serialize();
  if (traceState) writer.stringField(3, traceState);
  writeAttributes(writer, 4, link.attributes);
  writeCount(writer, 5, link.droppedAttributesCount);
  writer.tag(6, 5);
  writer.fixed32(spanFlags(link.context, link.context.isRemote));
  writer.end(at);
}

function writeStatus(writer: ProtobufWriter, code: number, message: string | undefined): void {
  const at = writer.begin(15);
  if (message) writer.stringField(2, message);
  if (code) {
    writer.tag(3, 0);
    writer.varint(code);
  }
  writer.end(at);
}
