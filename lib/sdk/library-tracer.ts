import {
  context as contextApi,
  diag,
  SamplingDecision,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type AttributeValue,
  type Context,
  type Exception,
  type HrTime,
  type Link,
  type Sampler,
  type Span,
  type SpanContext,
  type SpanOptions,
  type SpanStatus,
  type TimeInput,
  type Tracer,
} from '@opentelemetry/api';
import { cleanAttributes, cleanSimpleAttributes, isTracingSuppressed, maybeAddAttribute } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, SpanLimits, SpanProcessor, TimedEvent } from '@opentelemetry/sdk-trace';
import { hrTimeAt, newSpanId, newTraceId } from './span-ids.js';
import { randomTraceIdFlag } from '../propagation/random-trace-flag.js';

/** What the library reads of the SDK's tracer: its configuration, so both make spans the same way. */
interface SdkTracerInternals {
  readonly instrumentationScope: { name: string; version?: string; schemaUrl?: string };
  readonly _sampler: Sampler;
  readonly _spanLimits: Required<SpanLimits>;
  readonly _resource: Resource;
  readonly _spanProcessor: SpanProcessor;
}

/**
 * The tracer of the library's own spans (server, handler, message, gateway spans, `TraceService` and `@Span`).
 * It makes the same spans as the SDK's tracer, with the SDK's sampler, limits, resource and span processor chain,
 * so every processor and exporter sees the same data; it is cheaper where the SDK does work these spans do not
 * need: attributes the library built itself are taken as they are (the SDK validates them twice), ids come from a
 * pooled random buffer through a lookup table, and times from one monotonic clock reading each.
 */
export class LibraryTracer implements Tracer {
  private constructor(
    private readonly sdk: SdkTracerInternals,
    private readonly fallback: Tracer,
  ) {}

  /** A library tracer over `sdkTracer`'s configuration, or undefined when that tracer is not one it can read. */
  static over(sdkTracer: Tracer): LibraryTracer | undefined {
    const sdk = sdkTracer as Partial<SdkTracerInternals>;
    const readable =
      typeof sdk._sampler?.shouldSample === 'function' &&
      typeof sdk._spanProcessor?.onEnd === 'function' &&
      sdk._spanLimits !== undefined &&
      sdk._resource !== undefined &&
      sdk.instrumentationScope !== undefined;
    return readable ? new LibraryTracer(sdk as SdkTracerInternals, sdkTracer) : undefined;
  }

  /** The API's `startSpan`, for attributes from anywhere: they are validated once, as the SDK validates them. */
  startSpan(name: string, options: SpanOptions = {}, parent: Context = contextApi.active()): Span {
    if (options.startTime !== undefined || (options.links?.length ?? 0) > 0) return this.fallback.startSpan(name, options, parent);
    const attributes = options.attributes ? cleanAttributes(options.attributes, this.sdk._spanLimits) : undefined;
    return this.start(name, options.kind ?? SpanKind.INTERNAL, attributes?.attributes, attributes?.droppedAttributesCount ?? 0, options.root ? trace.deleteSpan(parent) : parent);
  }

  /**
   * Starts a span with attributes the library built and hands over: valid by construction, and owned by the span
   * from now on (they are neither copied nor checked).
   */
  startOwnedSpan(name: string, kind: SpanKind, attributes: Attributes, parent: Context): Span {
    return this.start(name, kind, attributes, 0, parent);
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, ...args: unknown[]): ReturnType<F> {
    const fn = args[args.length - 1] as F;
    const options = (args.length > 1 ? args[0] : undefined) as SpanOptions | undefined;
    const parent = (args.length > 2 ? args[1] : undefined) as Context | undefined;
    const parentContext = parent ?? contextApi.active();
    const span = this.startSpan(name, options, parentContext);
    return contextApi.with(trace.setSpan(parentContext, span), fn as (span: Span) => ReturnType<F>, undefined, span);
  }

  private start(name: string, kind: SpanKind, attributes: Attributes | undefined, dropped: number, parent: Context): Span {
    if (isTracingSuppressed(parent)) return trace.wrapSpanContext({ traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: TraceFlags.NONE });
    const parentSpan = trace.getSpan(parent);
    const parentContext = parentSpan?.spanContext();
    // The library's own spans have valid ids by construction; others (propagated, other tracers') are checked.
    const validParent = parentContext && (parentSpan instanceof LibrarySpan || trace.isSpanContextValid(parentContext)) ? parentContext : undefined;
    const traceId = validParent ? validParent.traceId : newTraceId();
    const spanId = newSpanId();
    const own = attributes ?? {};
    const sampling = this.sdk._sampler.shouldSample(parent, traceId, name, kind, own, []);
    const traceState = sampling.traceState ?? validParent?.traceState;
    const sampled = sampling.decision === SamplingDecision.RECORD_AND_SAMPLED;
    const traceFlags = (sampled ? TraceFlags.SAMPLED : TraceFlags.NONE) | randomTraceIdFlag(validParent);
    const spanContext: SpanContext = { traceId, spanId, traceFlags, traceState };
    if (sampling.decision === SamplingDecision.NOT_RECORD) return trace.wrapSpanContext(spanContext);
    if (sampling.attributes) Object.assign(own, sampling.attributes);
    return new LibrarySpan(this.sdk, name, kind, spanContext, validParent, own, dropped, parent);
  }
}

/** A recording span of the {@link LibraryTracer}: the API's `Span` and the SDK's `ReadableSpan`, as `SpanImpl` is. */
class LibrarySpan implements Span, ReadableSpan {
  readonly links: Link[] = [];
  readonly events: TimedEvent[] = [];
  readonly startTime: HrTime;
  readonly resource: Resource;
  readonly instrumentationScope: SdkTracerInternals['instrumentationScope'];
  status: SpanStatus = { code: SpanStatusCode.UNSET };
  endTime: HrTime = [0, 0];
  private readonly startedAt = performance.now();
  private attributesCount: number;
  private eventsDropped = 0;
  private isEnded = false;
  private spanDuration: HrTime = [-1, -1];
  private readonly limits: Required<SpanLimits>;
  private readonly processor: SpanProcessor;

  constructor(
    sdk: SdkTracerInternals,
    public name: string,
    readonly kind: SpanKind,
    private readonly context: SpanContext,
    readonly parentSpanContext: SpanContext | undefined,
    readonly attributes: Attributes,
    private attributesDropped: number,
    parent: Context,
  ) {
    this.startTime = hrTimeAt(this.startedAt);
    this.resource = sdk._resource;
    this.instrumentationScope = sdk.instrumentationScope;
    this.limits = sdk._spanLimits;
    this.processor = sdk._spanProcessor;
    let count = 0;
    for (const key in attributes) if (Object.hasOwn(attributes, key)) count++;
    this.attributesCount = count;
    this.processor.onStart(this as never, parent);
  }

  spanContext(): SpanContext {
    return this.context;
  }

  setAttribute(key: string, value: AttributeValue): this {
    if (this.isEnded) return this;
    const decision = maybeAddAttribute({ key, value, attributes: this.attributes, limits: this.limits, currentAttributesCount: this.attributesCount });
    // The SDK's decisions: 2 dropped at the limit, 3 a new key added.
    if (decision === 2) this.attributesDropped++;
    else if (decision === 3) this.attributesCount++;
    return this;
  }

  setAttributes(attributes: Attributes): this {
    for (const key in attributes) if (Object.hasOwn(attributes, key)) this.setAttribute(key, attributes[key] as AttributeValue);
    return this;
  }

  addEvent(name: string, attributesOrTime?: Attributes | TimeInput, time?: TimeInput): this {
    if (this.isEnded) return this;
    const limit = this.limits.eventCountLimit;
    if (limit === 0) {
      this.eventsDropped++;
      return this;
    }
    if (this.events.length >= limit) {
      this.events.shift();
      this.eventsDropped++;
    }
    const attributes = isTimeInput(attributesOrTime) ? undefined : attributesOrTime;
    const at = isTimeInput(attributesOrTime) ? attributesOrTime : time;
    const cleaned = cleanSimpleAttributes(attributes, {
      attributeCountLimit: this.limits.attributePerEventCountLimit,
      attributeValueLengthLimit: this.limits.attributeValueLengthLimit,
    });
    this.events.push({ name, time: at === undefined ? this.now() : toHrTime(at), ...cleaned });
    return this;
  }

  addLink(link: Link): this {
    if (this.isEnded) return this;
    this.links.push(link);
    return this;
  }

  addLinks(links: Link[]): this {
    for (const link of links) this.addLink(link);
    return this;
  }

  setStatus(status: SpanStatus): this {
    if (this.isEnded || status.code === SpanStatusCode.UNSET || this.status.code === SpanStatusCode.OK) return this;
    this.status = status.code === SpanStatusCode.ERROR && typeof status.message === 'string' ? { code: status.code, message: status.message } : { code: status.code };
    return this;
  }

  updateName(name: string): this {
    if (!this.isEnded) this.name = name;
    return this;
  }

  end(endTime?: TimeInput): void {
    if (this.isEnded) {
      diag.error(`${this.name} ${this.context.traceId}-${this.context.spanId} - You can only call end() on a span once.`);
      return;
    }
    this.endTime = endTime === undefined ? this.now() : toHrTime(endTime);
    this.spanDuration = durationBetween(this.startTime, this.endTime);
    this.processor.onEnding?.(this as never);
    this.isEnded = true;
    this.processor.onEnd(this);
  }

  isRecording(): boolean {
    return !this.isEnded;
  }

  /** The SDK's exception event: type from `code` or `name`, message and stack trace. */
  recordException(exception: Exception, time?: TimeInput): void {
    const attributes: Attributes = {};
    if (typeof exception === 'string') attributes['exception.message'] = exception;
    else if (exception) {
      if (exception.code) attributes['exception.type'] = String(exception.code);
      else if (exception.name) attributes['exception.type'] = exception.name;
      if (exception.message) attributes['exception.message'] = exception.message;
      if (exception.stack) attributes['exception.stacktrace'] = exception.stack;
    }
    if (attributes['exception.type'] || attributes['exception.message']) this.addEvent('exception', attributes, time);
  }

  get duration(): HrTime {
    return this.spanDuration;
  }

  get ended(): boolean {
    return this.isEnded;
  }

  get droppedAttributesCount(): number {
    return this.attributesDropped;
  }

  get droppedEventsCount(): number {
    return this.eventsDropped;
  }

  get droppedLinksCount(): number {
    return 0;
  }

  /** Attributes the library built, added without checks (see {@link addOwnedAttributes}). */
  addOwned(attributes: Attributes): void {
    if (this.isEnded) return;
    for (const key in attributes) {
      if (!Object.hasOwn(this.attributes, key)) this.attributesCount++;
      this.attributes[key] = attributes[key];
    }
  }

  /** Start and end come from the same monotonic clock, so durations are exact. */
  private now(): HrTime {
    return hrTimeAt(performance.now());
  }
}

/**
 * Adds attributes the library built itself (valid by construction) to one of its spans without the per-attribute
 * checks `setAttributes` makes; other spans get `setAttributes`.
 */
export function addOwnedAttributes(span: Span, attributes: Attributes): void {
  if (span instanceof LibrarySpan) span.addOwned(attributes);
  else span.setAttributes(attributes);
}

/**
 * Starts a span with attributes the library built (a fresh object the span may keep), through the library tracer
 * when `tracer` is one, else as any tracer would.
 */
export function startOwnedSpan(tracer: Tracer, name: string, kind: SpanKind, attributes: Attributes, parent: Context): Span {
  if (tracer instanceof LibraryTracer) return tracer.startOwnedSpan(name, kind, attributes, parent);
  return tracer.startSpan(name, { kind, attributes }, parent);
}

function isTimeInput(value: unknown): value is TimeInput {
  return typeof value === 'number' || value instanceof Date || (Array.isArray(value) && value.length === 2 && typeof value[0] === 'number' && typeof value[1] === 'number');
}

/** As the SDK reads a time: an HrTime as is, a number up to `performance.now()` as a monotonic reading, else epoch ms. */
function toHrTime(time: TimeInput): HrTime {
  if (Array.isArray(time)) return time as HrTime;
  if (typeof time === 'number' && time <= performance.now()) return hrTimeAt(time);
  const millis = time instanceof Date ? time.getTime() : time;
  const seconds = Math.floor(millis / 1000);
  return [seconds, Math.round((millis - seconds * 1000) * 1e6)];
}

function durationBetween(start: HrTime, end: HrTime): HrTime {
  let seconds = end[0] - start[0];
  let nanos = end[1] - start[1];
  if (nanos < 0) {
    seconds--;
    nanos += 1e9;
  }
  return seconds < 0 ? [0, 0] : [seconds, nanos];
}
