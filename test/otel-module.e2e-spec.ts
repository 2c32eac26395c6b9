import { Controller, Get, Injectable, Logger, Module, Param, UseInterceptors, type CanActivate } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { SpanKind } from '@opentelemetry/api';
import { OtelConfigError, OtelModule, TracingInterceptor } from '../lib/index.js';
import { startApp } from './support/apps.js';
import { SpanRecorder } from '../lib/testing/index.js';
import { activeResources, resourcesLeftSince } from './support/handles.js';
import { OtlpReceiver } from './support/otlp-receiver.js';
import { WarningLog } from './support/warning-log.js';

@Controller('orders')
class OrdersController {
  @Get(':id')
  findOne(@Param('id') id: string) {
    return { id };
  }
}

/** Used only by the `global: false` test: handler wrapping is per class, and other tests' apps trace globally. */
@Controller('invoices')
class InvoicesController {
  @Get('plain')
  plain() {
    return { traced: false };
  }

  @Get('traced')
  @UseInterceptors(TracingInterceptor)
  traced() {
    return { traced: true };
  }
}

@Injectable()
class TenantGuard implements CanActivate {
  canActivate() {
    return true;
  }
}

/** A plain provider whose method happens to be called `transform`: not a pipe, so never traced as one. */
@Injectable()
class CurrencyFormatter {
  transform(cents: number) {
    return `${(cents / 100).toFixed(2)} EUR`;
  }
}

@Controller('prices')
class PricesController {
  constructor(private readonly formatter: CurrencyFormatter) {}

  @Get()
  list() {
    return [this.formatter.transform(1999)];
  }
}

@Injectable()
class TracingConfig {
  readonly endpoint = process.env.TEST_RECEIVER_URL;
}

@Module({ providers: [TracingConfig], exports: [TracingConfig] })
class TracingConfigModule {}

function appModule(otel: ReturnType<typeof OtelModule.forRoot>) {
  @Module({ imports: [otel], controllers: [OrdersController] })
  class AppModule {}
  return AppModule;
}

describe('OtelModule', () => {
  let receiver: OtlpReceiver;

  beforeEach(async () => {
    receiver = await OtlpReceiver.start();
  });

  afterEach(async () => {
    await receiver.stop();
  });

  it('forRoot exports request spans over OTLP/gRPC with the configured resource, flushed by app.close()', async () => {
    const { app, url } = await startApp(
      appModule(
        OtelModule.forRoot({
          serviceName: 'orders',
          serviceVersion: '1.2.3',
          environment: 'staging',
          otlp: { endpoint: receiver.url },
          // A delay far beyond the test shows that the spans arrive because shutdown flushed them.
          batch: { scheduledDelayMillis: 60_000 },
        }),
      ),
    );
    const response = await fetch(`${url}/orders/42`);
    expect(await response.json()).toEqual({ id: '42' });
    expect(receiver.spans).toHaveLength(0);

    await app.close();

    const server = receiver.spans.find((s) => s.kind === 'SERVER');
    const handler = receiver.spans.find((s) => s.kind === 'INTERNAL');
    expect(server).toMatchObject({
      name: 'GET /orders/:id',
      attributes: expect.objectContaining({ 'http.route': '/orders/:id', 'http.response.status_code': 200 }),
    });
    expect(handler).toMatchObject({ name: 'OrdersController.findOne', parentSpanId: server?.spanId, traceId: server?.traceId });
    expect(server?.resource).toMatchObject({
      'service.name': 'orders',
      'service.version': '1.2.3',
      'deployment.environment.name': 'staging',
      'telemetry.sdk.language': 'nodejs',
    });
    expect(server?.resource['host.name']).toEqual(expect.any(String));
    expect(server?.resource['process.pid']).toBe(process.pid);
  });

  it('forRootAsync builds its options from injected providers', async () => {
    process.env.TEST_RECEIVER_URL = receiver.url;
    const otel = OtelModule.forRootAsync({
      imports: [TracingConfigModule],
      inject: [TracingConfig],
      useFactory: (config: TracingConfig) => ({ serviceName: 'async-orders', otlp: { endpoint: config.endpoint } }),
    });
    const { app, url } = await startApp(appModule(otel));
    await fetch(`${url}/orders/7`);
    await app.close();
    delete process.env.TEST_RECEIVER_URL;

    const serverSide = receiver.spans.filter((s) => s.kind !== 'CLIENT');
    expect(serverSide.map((s) => s.name).sort()).toEqual(['GET /orders/:id', 'OrdersController.findOne']);
    expect(serverSide[0].resource['service.name']).toBe('async-orders');
    // The test's own fetch is traced by the undici instrumentation, and the server continued its trace.
    const client = receiver.spans.find((s) => s.kind === 'CLIENT');
    expect(receiver.spans.find((s) => s.kind === 'SERVER')?.parentSpanId).toBe(client?.spanId);
  });

  it('forRootAsync fails at init with the configuration error when its factory returns a bad value', async () => {
    const otel = OtelModule.forRootAsync({ useFactory: () => ({ sampler: 7 }) });
    await expect(startApp(appModule(otel))).rejects.toThrow(/sampler=7: expected a number from 0 to 1/);
  });

  it('forRoot throws the configuration error naming the bad option', () => {
    expect(() => OtelModule.forRoot({ otlp: { endpoint: 'recorder:4317' } })).toThrow(OtelConfigError);
    expect(() => OtelModule.forRoot({ otlp: { endpoint: 'recorder:4317' } })).toThrow(/otlp\.endpoint="recorder:4317"/);
  });

  it('enabled: false answers exactly as without tracing and exports nothing', async () => {
    const { app, url } = await startApp(appModule(OtelModule.forRoot({ enabled: false, otlp: { endpoint: receiver.url } })));
    const response = await fetch(`${url}/orders/1`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ id: '1' });
    expect(response.headers.get('traceparent')).toBeNull();
    await app.close();
    expect(receiver.exportCalls).toBe(0);
  });

  it('several apps in one process each send spans to their own exporter and leave no handles behind', async () => {
    const before = activeResources();
    const recorders = [new SpanRecorder(), new SpanRecorder()];
    for (const [i, recorder] of recorders.entries()) {
      const otel = OtelModule.forRoot({ serviceName: `app-${i}`, exporter: 'none', spanProcessors: [recorder] });
      const { app, url } = await startApp(appModule(otel));
      await fetch(`${url}/orders/${i}`);
      await app.close();
    }
    for (const [i, recorder] of recorders.entries()) {
      const spans = recorder.spans.filter((s) => s.kind !== SpanKind.CLIENT);
      expect(spans.map((s) => s.name).sort()).toEqual(['GET /orders/:id', 'OrdersController.findOne']);
      expect(spans.every((s) => s.resource.attributes['service.name'] === `app-${i}`)).toBe(true);
      expect(spans.find((s) => s.name === 'GET /orders/:id')?.attributes['url.path']).toBe(`/orders/${i}`);
    }
    expect(await resourcesLeftSince(before)).toEqual([]);
  });

  it('warns once at bootstrap when no shutdown hooks are enabled, and not when they are', async () => {
    const logger = new WarningLog();
    try {
      const otel = OtelModule.forRoot({ exporter: 'none', warnOnMissingShutdownHooks: true });
      const withHooks = await startApp(appModule(otel), 'express', (app) => app.enableShutdownHooks(), logger);
      await new Promise((resolve) => setImmediate(resolve));
      expect(logger.warnings.filter((w) => w.includes('shutdown hooks'))).toEqual([]);
      await withHooks.app.close();

      const withoutHooks = await startApp(appModule(otel), 'express', undefined, logger);
      await new Promise((resolve) => setImmediate(resolve));
      await withoutHooks.app.close();
      const warnings = logger.warnings.filter((w) => w.includes('No shutdown hooks are enabled'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('app.enableShutdownHooks()');
    } finally {
      Logger.overrideLogger(true);
    }
  });

  it('with interceptor.global false, makes handler spans only where TracingInterceptor is applied', async () => {
    const recorder = new SpanRecorder();
    @Module({
      imports: [OtelModule.forRoot({ exporter: 'none', spanProcessors: [recorder], instrumentations: [], interceptor: { global: false } })],
      controllers: [InvoicesController],
    })
    class InvoicesModule {}
    const { app, url } = await startApp(InvoicesModule);
    try {
      await fetch(`${url}/invoices/plain`);
      await fetch(`${url}/invoices/traced`);
      const plain = await recorder.waitForServerSpan('/invoices/plain');
      const traced = await recorder.waitForServerSpan('/invoices/traced');
      expect(recorder.outline(plain)).toEqual(['GET /invoices/plain']);
      expect(recorder.outline(traced)).toEqual(['GET /invoices/traced', '  InvoicesController.traced']);
    } finally {
      await app.close();
    }
  });

  it('traces global guards with enhancerSpans, and leaves providers that only look like enhancers alone', async () => {
    const recorder = new SpanRecorder();
    @Module({
      imports: [
        OtelModule.forRoot({ exporter: 'none', spanProcessors: [recorder], instrumentations: [], interceptor: { enhancerSpans: ['guards', 'pipes'] } }),
      ],
      controllers: [PricesController],
      providers: [CurrencyFormatter, { provide: APP_GUARD, useClass: TenantGuard }],
    })
    class PricesModule {}
    const { app, url } = await startApp(PricesModule);
    try {
      expect(await (await fetch(`${url}/prices`)).json()).toEqual(['19.99 EUR']);
      const server = await recorder.waitForServerSpan('/prices');
      expect(recorder.outline(server)).toEqual(['GET /prices', '  PricesController.list', '    TenantGuard.canActivate']);
    } finally {
      await app.close();
    }
  });
});
