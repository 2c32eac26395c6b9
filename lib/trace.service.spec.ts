import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { delay, firstValueFrom, from, mergeMap, Observable, of, Subject, throwError, toArray } from 'rxjs';
import { startUnitTracing, type UnitTracing } from '../test/support/tracing.js';
import { TraceService } from './trace.service.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('TraceService', () => {
  let tracing: UnitTracing;
  const traces = new TraceService();

  beforeAll(() => {
    tracing = startUnitTracing();
  });
  afterAll(() => tracing.stop());
  beforeEach(() => tracing.recorder.reset());

  const parentName = (name: string) => {
    const [span] = tracing.recorder.byName(name);
    const parentId = span.parentSpanContext?.spanId;
    return tracing.recorder.spans.find((s) => s.spanContext().spanId === parentId)?.name;
  };

  it('runs a sync function in an active span and returns its result', () => {
    const result = traces.withSpan('compute', { kind: SpanKind.PRODUCER, attributes: { 'job.id': 'j1' } }, (span) => {
      expect(trace.getActiveSpan()).toBe(span);
      return 42;
    });
    expect(result).toBe(42);
    const [span] = tracing.recorder.byName('compute');
    expect(span.kind).toBe(SpanKind.PRODUCER);
    expect(span.attributes['job.id']).toBe('j1');
    expect(span.ended).toBe(true);
  });

  it('keeps children under their parent through await, setTimeout and Promise.all', async () => {
    await traces.withSpan('request', async () => {
      await traces.withSpan('after-await', async () => sleep(1));
      await new Promise<void>((resolve) => setTimeout(() => traces.withSpan('in-timeout', () => resolve()), 1));
      await Promise.all([1, 2, 3].map((n) => traces.withSpan(`parallel-${n}`, () => sleep(n))));
    });
    for (const name of ['after-await', 'in-timeout', 'parallel-1', 'parallel-2', 'parallel-3']) {
      expect([name, parentName(name)]).toEqual([name, 'request']);
    }
    const request = tracing.recorder.byName('request')[0];
    expect(tracing.recorder.outline(request.spanContext().traceId)).toEqual([
      'request',
      '  after-await',
      '  in-timeout',
      '  parallel-1',
      '  parallel-2',
      '  parallel-3',
    ]);
  });

  it('keeps children under their parent through rxjs operators, and ends an Observable span on complete', async () => {
    const values = await firstValueFrom(
      traces.withSpan('stream', () =>
        from([1, 2]).pipe(
          delay(1),
          mergeMap((n) => traces.withSpan(`item-${n}`, () => of(n * 10).pipe(delay(1)))),
          toArray(),
        ),
      ),
    );
    expect(values.sort()).toEqual([10, 20]);
    expect(parentName('item-1')).toBe('stream');
    expect(parentName('item-2')).toBe('stream');
    expect(tracing.recorder.byName('stream')).toHaveLength(1);
  });

  it('ends the span of a promise of an Observable (an async interceptor) when the Observable completes', async () => {
    const source = new Subject<number>();
    const stream = await traces.withSpan('async-stream', async () => source.asObservable());
    const values: number[] = [];
    stream.subscribe((v) => values.push(v));
    source.next(1);
    expect(tracing.recorder.byName('async-stream')).toHaveLength(0);
    source.complete();
    expect([values, tracing.recorder.byName('async-stream').length]).toEqual([[1], 1]);
  });

  it('ends an Observable span once when the subscriber unsubscribes', () => {
    const source = new Subject<number>();
    const subscription = traces.withSpan('endless', () => source.asObservable()).subscribe();
    expect(tracing.recorder.byName('endless')).toHaveLength(0);
    subscription.unsubscribe();
    source.complete();
    expect(tracing.recorder.byName('endless')).toHaveLength(1);
  });

  it('records a failure and re-throws the very same error, for sync, async and Observable work', async () => {
    const error = new RangeError('out of range');
    expect(() => traces.withSpan('sync-fail', () => { throw error; })).toThrow(error);
    await expect(traces.withSpan('async-fail', async () => { throw error; })).rejects.toBe(error);
    await expect(firstValueFrom(traces.withSpan('rx-fail', () => throwError(() => error)))).rejects.toBe(error);
    for (const name of ['sync-fail', 'async-fail', 'rx-fail']) {
      const [span] = tracing.recorder.byName(name);
      expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'out of range' });
      expect(span.attributes['error.type']).toBe('RangeError');
      expect(span.events.map((e) => e.name)).toEqual(['exception']);
    }
  });

  it('starts a new root when asked, and links to other spans', () => {
    const linked = trace.wrapSpanContext({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1 }).spanContext();
    traces.withSpan('outer', () => traces.withSpan('detached', { root: true, links: [{ context: linked }] }, () => undefined));
    const [detached] = tracing.recorder.byName('detached');
    expect(detached.parentSpanContext).toBeUndefined();
    expect(detached.spanContext().traceId).not.toBe(tracing.recorder.byName('outer')[0].spanContext().traceId);
    expect(detached.links.map((l) => l.context.spanId)).toEqual([linked.spanId]);
  });

  it('gives the ids and traceparent of the active span, and nothing outside one', () => {
    expect([traces.traceId(), traces.spanId(), traces.traceparent(), traces.currentSpan()]).toEqual([undefined, undefined, undefined, undefined]);
    traces.withSpan('ids', (span) => {
      const { traceId, spanId } = span.spanContext();
      expect(traces.traceId()).toBe(traceId);
      expect(traces.spanId()).toBe(spanId);
      expect(traces.traceparent()).toBe(`00-${traceId}-${spanId}-03`);
    });
  });

  it('sets attributes, events and exceptions on the active span, and ignores them outside one', () => {
    expect(() => {
      traces.setAttributes({ ignored: true });
      traces.addEvent('ignored');
      traces.recordException(new Error('ignored'));
    }).not.toThrow();
    traces.withSpan('annotated', () => {
      traces.setAttributes({ 'order.id': 'o-1' });
      traces.addEvent('cache.miss', { key: 'k' });
      traces.recordException(new TypeError('bad shape'));
    });
    const [span] = tracing.recorder.byName('annotated');
    expect(span.attributes['order.id']).toBe('o-1');
    expect(span.events.map((e) => e.name)).toEqual(['cache.miss', 'exception']);
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('adds baggage for the work it runs, merged with the baggage already there', () => {
    expect(traces.getAllBaggage()).toEqual({});
    traces.withBaggage({ 'tenant.id': 't-7' }, () => {
      traces.withBaggage({ 'correlation.id': 'c-1' }, () => {
        expect(traces.getBaggage('tenant.id')).toBe('t-7');
        expect(traces.getAllBaggage()).toEqual({ 'tenant.id': 't-7', 'correlation.id': 'c-1' });
      });
      expect(traces.getBaggage('correlation.id')).toBeUndefined();
    });
    expect(traces.getBaggage('tenant.id')).toBeUndefined();
  });

  it('carries trace context and baggage through a carrier, for transports nothing instruments', () => {
    const carrier = traces.withSpan('producer', () => traces.withBaggage({ 'tenant.id': 't-9' }, () => traces.inject()));
    expect(carrier.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-03$/);
    expect(carrier.baggage).toBe('tenant.id=t-9');

    traces.withExtractedContext(carrier, () =>
      traces.withSpan('consumer', { kind: SpanKind.CONSUMER }, () => expect(traces.getBaggage('tenant.id')).toBe('t-9')),
    );
    const [producer] = tracing.recorder.byName('producer');
    const [consumer] = tracing.recorder.byName('consumer');
    expect(consumer.spanContext().traceId).toBe(producer.spanContext().traceId);
    expect(consumer.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
  });

  it('starts a fresh trace from a carrier with malformed headers', () => {
    traces.withExtractedContext({ traceparent: 'garbage', baggage: '%%%;;;===' }, () => traces.withSpan('fresh', () => undefined));
    expect(tracing.recorder.byName('fresh')[0].parentSpanContext).toBeUndefined();
  });
});

describe('TraceService without a running SDK', () => {
  const traces = new TraceService();

  it('runs the work and returns its result, with no ids and no errors', async () => {
    expect(traces.withSpan('noop', () => 'sync')).toBe('sync');
    expect(await traces.withSpan('noop', async () => 'async')).toBe('async');
    expect(await firstValueFrom(traces.withSpan('noop', () => new Observable<string>((s) => s.next('rx'))))).toBe('rx');
    traces.withSpan('noop', () => {
      expect(traces.traceId()).toBeUndefined();
      traces.setAttributes({ a: 1 });
    });
    expect(traces.inject({})).toEqual({});
  });
});
