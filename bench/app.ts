/**
 * The benchmark's Nest 12 app. One process per variant (BENCH_VARIANT): `none` and `control` (no tracing), `als`
 * (no tracing, but every request runs inside an AsyncLocalStorage run, as a tracer's context does), `nestjs-tracing`
 * (sampling BENCH_RATIO), `official` (preloaded NodeSDK, see official-preload.ts) and `nestjs-otel`.
 * Prints `listening <port>`, then `young-generation-mb <n>` (V8's new space) at start, whenever V8 resizes it and on
 * SIGTERM; then it closes, flushes, prints `spans-ended <n>` and exits.
 */
import 'reflect-metadata';
import {
  Body,
  Controller,
  Get,
  Injectable,
  Module,
  Param,
  ParseIntPipe,
  Post,
  UseGuards,
  type CanActivate,
  type DynamicModule,
  type ExecutionContext,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { trace } from '@opentelemetry/api';
import { AsyncLocalStorage } from 'node:async_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanCounter } from './span-counter.js';

const variant = process.env.BENCH_VARIANT ?? 'none';
const ratio = Number(process.env.BENCH_RATIO ?? 1);

/** Two custom child spans per async request, made the way each variant's users would make them. */
abstract class CustomSpans {
  abstract run<T>(name: string, work: () => Promise<T>): Promise<T>;
}

class NoSpans extends CustomSpans {
  run<T>(_name: string, work: () => Promise<T>): Promise<T> {
    return work();
  }
}

/** The OpenTelemetry API, as users of the official path and of nestjs-otel write custom spans. */
class ApiSpans extends CustomSpans {
  private readonly tracer = trace.getTracer('bench');
  run<T>(name: string, work: () => Promise<T>): Promise<T> {
    return this.tracer.startActiveSpan(name, (span) => work().finally(() => span.end()));
  }
}

@Injectable()
class ApiKeyGuard implements CanActivate {
  canActivate(execution: ExecutionContext): boolean {
    return execution.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>().headers['x-api-key'] === 'bench';
  }
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

@Controller()
class BenchController {
  constructor(private readonly spans: CustomSpans) {}

  @Get('tiny')
  tiny() {
    return { hello: 'world' };
  }

  @Get('items/:id')
  @UseGuards(ApiKeyGuard)
  item(@Param('id', ParseIntPipe) id: number) {
    return { id, name: `item-${id}` };
  }

  @Get('async')
  async work() {
    await Promise.all([tick(), tick(), tick()]);
    const a = await this.spans.run('load.profile', async () => (await tick(), 1));
    const b = await this.spans.run('load.preferences', async () => (await tick(), 2));
    return { total: a + b };
  }

  @Post('json')
  json(@Body() body: { items?: unknown[] }) {
    return { received: body.items?.length ?? 0 };
  }

  @Get('health')
  health() {
    return { status: 'ok' };
  }
}

async function tracingSetup(counter: SpanCounter): Promise<{ imports: DynamicModule[]; spans: CustomSpans }> {
  if (variant === 'nestjs-tracing') {
    const { OtelModule, TraceService } = await import('nestjs-tracing');
    const traces = new TraceService();
    const spans: CustomSpans = { run: (name, work) => traces.withSpan(name, work) };
    const options = {
      serviceName: 'bench',
      sampler: ratio,
      spanProcessors: [counter],
      warnOnMissingShutdownHooks: false,
      // For the cost breakdown: the same without the outgoing-HTTP instrumentations, or with tracing off.
      ...(process.env.BENCH_NO_INSTRUMENTATIONS === '1' ? { instrumentations: [] } : {}),
      ...(process.env.BENCH_DISABLED === '1' ? { enabled: false } : {}),
    };
    return { imports: [OtelModule.forRoot(options)], spans };
  }
  if (variant === 'nestjs-otel') {
    const { OpenTelemetryModule } = await import('nestjs-otel');
    return { imports: [OpenTelemetryModule.forRoot()], spans: new ApiSpans() };
  }
  if (variant === 'official') return { imports: [], spans: new ApiSpans() };
  return { imports: [], spans: new NoSpans() };
}

/**
 * The floor of any tracer that propagates context: each request runs inside `AsyncLocalStorage.run()` with a store
 * of its own, as the library runs it inside its server span's context, and nothing else.
 */
function runRequestsInAsyncContext(server: Server): void {
  const storage = new AsyncLocalStorage<{ request: number }>();
  let requests = 0;
  for (const listener of server.listeners('request') as ((...args: unknown[]) => void)[]) {
    server.removeListener('request', listener);
    server.on('request', function (this: unknown, request: unknown, response: unknown) {
      storage.run({ request: requests++ }, () => listener.call(this, request, response));
    });
  }
}

/** V8's new space as it is now, in MB. */
function youngGenerationMb(): number {
  const young = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0;
  return Math.round(young / 1048576);
}

async function main(): Promise<void> {
  const preloaded = (globalThis as { benchSpanCounter?: SpanCounter }).benchSpanCounter;
  const counter = preloaded ?? new SpanCounter();
  const { imports, spans } = await tracingSetup(counter);

  @Module({ imports, controllers: [BenchController], providers: [ApiKeyGuard, { provide: CustomSpans, useValue: spans }] })
  class BenchModule {}

  const app =
    process.env.BENCH_PLATFORM === 'fastify'
      ? await NestFactory.create(BenchModule, new FastifyAdapter(), { logger: ['error', 'warn'] })
      : await NestFactory.create(BenchModule, { logger: ['error', 'warn'] });
  if (variant === 'als') runRequestsInAsyncContext(app.getHttpServer() as Server);
  await app.listen(0, '127.0.0.1');
  console.log(`listening ${(app.getHttpServer().address() as AddressInfo).port}`);
  // V8 grows the young generation when it sees fit; the runner timestamps each size it is told of.
  let youngMb = youngGenerationMb();
  console.log(`young-generation-mb ${youngMb}`);
  setInterval(() => {
    const now = youngGenerationMb();
    if (now !== youngMb) console.log(`young-generation-mb ${(youngMb = now)}`);
  }, 500).unref();
  process.once('SIGTERM', async () => {
    console.log(`young-generation-mb ${youngGenerationMb()}`);
    await app.close();
    await (globalThis as { benchShutdown?: () => Promise<void> }).benchShutdown?.();
    const counted = variant === 'nestjs-tracing' || preloaded !== undefined;
    console.log(`spans-ended ${counted ? counter.ended : -1}`);
    process.exit(0);
  });
}

await main();
