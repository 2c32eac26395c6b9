import { BadRequestException, Controller, Get, Injectable, Module, Param, ParseIntPipe, Query } from '@nestjs/common';
import { OtelModule, Span, TraceService } from '../lib/index.js';
import { startApp } from './support/apps.js';
import { OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver.js';

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

@Injectable()
class PricingService {
  constructor(private readonly traces: TraceService) {}

  @Span('pricing.quote')
  async quote(sku: number) {
    this.traces.setAttributes({ 'pricing.sku': sku, 'pricing.tiers': [1, 2, 3], 'pricing.currency': 'EUR', 'pricing.discounted': false });
    this.traces.addEvent('cache.miss', { 'cache.key': `sku:${sku}`, attempts: 2 });
    return this.traces.withSpan('pricing.tax', async () => Math.round(sku * 1.2));
  }
}

@Controller('prices')
class PricesController {
  constructor(private readonly pricing: PricingService) {}

  @Get(':sku')
  async price(@Param('sku', ParseIntPipe) sku: number, @Query('fail') fail?: string) {
    if (fail === 'client') throw new BadRequestException('unknown currency');
    if (fail === 'server') throw new Error('ledger write failed — ünïcode');
    return { sku, total: await this.pricing.quote(sku) };
  }
}

/** The same traffic against an app, with the given span maker; returns what the collector received. */
async function traffic(fastSpans: boolean): Promise<{ spans: ReceivedSpan[]; from: number; to: number }> {
  const receiver = await OtlpReceiver.start();
  const from = Date.now();
  @Module({
    imports: [
      OtelModule.forRoot({
        serviceName: 'fast-or-sdk',
        fastSpans,
        instrumentations: [],
        otlp: { endpoint: receiver.url },
        batch: { scheduledDelayMillis: 50 },
      }),
    ],
    controllers: [PricesController],
    providers: [PricingService],
  })
  class PricesModule {}
  const { app, url } = await startApp(PricesModule);
  try {
    const requests: [string, string][] = [
      ['/prices/7', '00f067aa0ba902b1'],
      ['/prices/abc', '00f067aa0ba902b2'],
      ['/prices/8?fail=client', '00f067aa0ba902b3'],
      ['/prices/9?fail=server', '00f067aa0ba902b4'],
      ['/nowhere', '00f067aa0ba902b5'],
    ];
    for (const [path, parent] of requests) {
      await fetch(`${url}${path}`, { headers: { traceparent: `00-${CALLER_TRACE}-${parent}-01`, 'user-agent': 'parity' } });
    }
  } finally {
    await app.close();
  }
  const to = Date.now();
  await receiver.stop();
  return { spans: receiver.spans, from, to };
}

/** A span as comparable data: ids replaced by the names of the spans they point to, times by sanity checks. */
function comparable({ spans, from, to }: { spans: ReceivedSpan[]; from: number; to: number }) {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  return spans
    .map((span) => {
      const { 'server.port': port, ...attributes } = span.attributes;
      return {
        name: span.name,
        kind: span.kind,
        traceId: span.traceId,
        // The caller's span for a server span, else the parent's name.
        parent: byId.get(span.parentSpanId)?.name ?? span.parentSpanId,
        attributes: { ...attributes, 'server.port': typeof port },
        status: span.status,
        events: span.events.map((e) => ({
          name: e.name,
          attributes: { ...e.attributes, 'exception.stacktrace': typeof e.attributes['exception.stacktrace'] },
        })),
        resource: span.resource,
        scope: span.scope,
        validIds: /^[0-9a-f]{32}$/.test(span.traceId) && /^[0-9a-f]{16}$/.test(span.spanId),
        // Within the traffic's window, ending after it starts, and inside its parent's time.
        validTimes:
          span.startMillis >= from - 1 &&
          span.endMillis <= to + 1 &&
          span.endMillis >= span.startMillis &&
          (!byId.has(span.parentSpanId) || span.startMillis >= byId.get(span.parentSpanId)!.startMillis - 0.01),
      };
    })
    .sort((a, b) => `${a.parent}/${a.name}`.localeCompare(`${b.parent}/${b.name}`));
}

describe('the library tracer and the SDK tracer', () => {
  it('export the same spans for the same traffic', async () => {
    const sdk = await traffic(false);
    const fast = await traffic(true);
    expect(fast.spans.length).toBe(sdk.spans.length);
    // Five server spans, four handler spans (not the 404), and the two custom spans of the one success.
    expect(fast.spans.length).toBe(11);
    expect(comparable(fast)).toEqual(comparable(sdk));
    expect(comparable(fast).every((s) => s.validIds && s.validTimes)).toBe(true);
    expect(fast.spans.every((s) => s.traceId === CALLER_TRACE)).toBe(true);
  });
});
