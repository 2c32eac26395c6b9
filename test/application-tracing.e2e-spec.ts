import {
  Controller,
  Get,
  Injectable,
  Logger,
  Module,
  Param,
  ParseIntPipe,
  Post,
  Query,
  UploadedFile,
  UseGuards,
  UseInterceptors,
  type CallHandler,
  type CanActivate,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Span, TraceService, Traced, TracingConsoleLogger } from '../lib/index.js';
import { OtelTestingModule, SpanRecorder } from '../lib/testing/index.js';
import { startApp, type RunningApp } from './support/apps.js';

/** Stands in for a downstream service: remembers the headers of every request it gets. */
class Downstream {
  readonly received: IncomingHttpHeaders[] = [];
  private readonly server: Server = createServer((request, response) => {
    this.received.push(request.headers);
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ rate: 1.25 }));
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const downstream = new Downstream();
let downstreamUrl = '';

@Injectable()
@Traced()
class QuoteService {
  private readonly logger = new Logger(QuoteService.name);

  constructor(private readonly traces: TraceService) {}

  async quote(id: string, tenant: string): Promise<{ id: string; total: number; tenant?: string }> {
    this.logger.log(`quoting ${id}`);
    return this.traces.withBaggage({ 'tenant.id': tenant }, async () => {
      const rate = await this.fetchRate();
      return { id, total: 100 * rate, tenant: this.traces.getBaggage('tenant.id') };
    });
  }

  async fetchRate(): Promise<number> {
    const response = await fetch(`${downstreamUrl}/rates?token=s3cr3t&currency=EUR`);
    return ((await response.json()) as { rate: number }).rate;
  }
}

@Controller('quotes')
class QuotesController {
  constructor(private readonly quotes: QuoteService) {}

  @Get(':id')
  @Span('quotes.lookup')
  lookup(@Param('id') id: string, @Query('tenant') tenant: string) {
    return this.quotes.quote(id, tenant);
  }

  @Span('quotes.health-of-rates')
  @Get()
  list() {
    return [];
  }
}

@Controller('resumes')
class ResumesController {
  constructor(private readonly traces: TraceService) {}

  /** Multer parses the body in a stream callback, where other libraries lose the request's context. */
  @Post()
  @UseInterceptors(FileInterceptor('resume'))
  upload(@UploadedFile() file: { originalname: string; size: number }) {
    return this.traces.withSpan('resume.store', () => ({ name: file.originalname, size: file.size, traceId: this.traces.traceId() }));
  }
}

@Injectable()
class VaultGuard implements CanActivate {
  canActivate(execution: ExecutionContext): boolean {
    return execution.switchToHttp().getRequest<{ headers: Record<string, string> }>().headers['x-vault-key'] === 'open';
  }
}

@Injectable()
class AuditInterceptor implements NestInterceptor {
  intercept(_execution: ExecutionContext, next: CallHandler) {
    return next.handle();
  }
}

@Controller('vault')
@UseGuards(VaultGuard)
@UseInterceptors(AuditInterceptor)
class VaultController {
  @Get(':box')
  open(@Param('box', ParseIntPipe) box: number) {
    return { box };
  }
}

/** Routes declared once in a base class, served by each subclass under its own path. */
abstract class CatalogController {
  @Get('count')
  count() {
    return { count: 3 };
  }
}

@Controller('jobs')
class JobsController extends CatalogController {}

@Module({
  imports: [
    OtelTestingModule.forRoot({
      serviceName: 'quotes',
      redact: { keys: ['user_agent.original'], queryParameters: ['token'] },
      interceptor: { enhancerSpans: ['guards', 'pipes', 'interceptors'] },
    }),
  ],
  controllers: [QuotesController, ResumesController, VaultController, JobsController],
  providers: [QuoteService],
})
class QuotesModule {}

/** Captures what the logger writes to stdout while `work` runs. */
async function captureStdout(work: () => Promise<unknown>): Promise<string[]> {
  const lines: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    await work();
  } finally {
    process.stdout.write = write;
  }
  return lines;
}

describe.each([
  ['json', { json: true }],
  ['text', { colors: false }],
])('application tracing (%s logs)', (mode, loggerOptions) => {
  let running: RunningApp;
  let recorder: SpanRecorder;

  beforeAll(async () => {
    downstreamUrl = await downstream.start();
    // Startup lines are not under test; keep them out of the test output.
    await captureStdout(async () => {
      running = await startApp(QuotesModule, 'express', undefined, new TracingConsoleLogger(loggerOptions));
    });
    recorder = running.app.get(SpanRecorder);
  });

  afterAll(async () => {
    await running.app.close();
    await downstream.stop();
  });

  beforeEach(() => {
    recorder.reset();
    downstream.received.length = 0;
  });

  it('nests custom spans under the handler, carries baggage downstream and reads it back', async () => {
    const response = await fetch(`${running.url}/quotes/q-1?tenant=acme`);
    expect(await response.json()).toEqual({ id: 'q-1', total: 125, tenant: 'acme' });

    const server = await recorder.waitForServerSpan('/quotes/q-1');
    const traceId = server.spanContext().traceId;
    await recorder.waitFor(() => recorder.byName('QuoteService.quote').length === 1);
    expect(recorder.outline(server)).toEqual([
      'GET /quotes/:id',
      '  QuotesController.lookup',
      '    quotes.lookup',
      '      QuoteService.quote',
      '        QuoteService.fetchRate',
      '          GET',
    ]);

    const [headers] = downstream.received;
    expect(headers.baggage).toBe('tenant.id=acme');
    expect(headers.traceparent).toContain(traceId);
  });

  it('masks redacted values, auto-instrumented ones included, before they are recorded', async () => {
    await fetch(`${running.url}/quotes/q-2?tenant=acme`, { headers: { 'user-agent': 'private-browser/1.0' } });
    const server = await recorder.waitForServerSpan('/quotes/q-2');
    const client = (await recorder.waitFor((spans) => spans.some((s) => s.kind === SpanKind.CLIENT && String(s.attributes['url.full']).includes('/rates'))))
      .find((s) => String(s.attributes['url.full']).includes('/rates'));
    expect(client?.attributes['url.full']).toBe(`${downstreamUrl}/rates?token=%5BREDACTED%5D&currency=EUR`);
    expect(server.attributes['user_agent.original']).toBe('[REDACTED]');
    expect(JSON.stringify(recorder.spans.map((s) => s.attributes))).not.toMatch(/s3cr3t|private-browser/);
  });

  it('writes the ids of the active span into log lines', async () => {
    const lines = await captureStdout(async () => {
      await fetch(`${running.url}/quotes/q-3?tenant=acme`);
      await recorder.waitFor(() => recorder.byName('QuoteService.quote').length === 1);
    });
    const line = lines.find((l) => l.includes('quoting q-3'));
    const { traceId, spanId } = recorder.byName('QuoteService.quote')[0].spanContext();
    if (mode === 'json') {
      expect(JSON.parse(line ?? '{}')).toMatchObject({ message: 'quoting q-3', context: 'QuoteService', trace_id: traceId, span_id: spanId, trace_flags: '03' });
    } else {
      expect(line).toContain(`[QuoteService] trace_id=${traceId} span_id=${spanId} quoting q-3`);
    }
  });

  it('keeps the request context through a multer FileInterceptor upload', async () => {
    const form = new FormData();
    form.append('resume', new Blob(['x'.repeat(2048)], { type: 'application/pdf' }), 'cv.pdf');
    const body = (await (await fetch(`${running.url}/resumes`, { method: 'POST', body: form })).json()) as { size: number; traceId: string };
    const server = await recorder.waitForServerSpan('/resumes');
    expect(body.size).toBe(2048);
    expect(body.traceId).toBe(server.spanContext().traceId);
    // FileInterceptor is a Nest mixin, and enhancer spans are on in this app. The handler span covers the pipeline.
    expect(recorder.outline(server)).toEqual(['POST /resumes', '  ResumesController.upload', '    MixinInterceptor.intercept', '      resume.store']);
  });

  it('gives guards, interceptors and pipes spans when asked, so a denial shows which guard said no', async () => {
    expect((await fetch(`${running.url}/vault/7`, { headers: { 'x-vault-key': 'open' } })).status).toBe(200);
    const allowed = await recorder.waitForServerSpan('/vault/7');
    // The handler span covers the pipeline: Nest runs the guard, then the interceptor, which wraps the pipe.
    expect(recorder.outline(allowed)).toEqual([
      'GET /vault/:box',
      '  VaultController.open',
      '    VaultGuard.canActivate',
      '    AuditInterceptor.intercept',
      '      ParseIntPipe.transform',
    ]);
    expect(recorder.byName('VaultGuard.canActivate')[0].attributes).toMatchObject({ 'nestjs.type': 'guard', 'nestjs.guard.allowed': true });

    recorder.reset();
    expect((await fetch(`${running.url}/vault/8`)).status).toBe(403);
    const denied = await recorder.waitForServerSpan('/vault/8');
    expect(recorder.outline(denied)).toEqual(['GET /vault/:box', '  VaultController.open', '    VaultGuard.canActivate']);
    const rejected = recorder.byName('VaultController.open')[0];
    expect(rejected.events.map((e) => e.attributes?.['exception.type'])).toEqual(['ForbiddenException']);
    expect(rejected.status.code).toBe(SpanStatusCode.UNSET);
    expect(recorder.byName('VaultGuard.canActivate')[0].attributes['nestjs.guard.allowed']).toBe(false);
  });

  it('names the handler span of an inherited route after the controller that serves it', async () => {
    expect(await (await fetch(`${running.url}/jobs/count`)).json()).toEqual({ count: 3 });
    const server = await recorder.waitForServerSpan('/jobs/count');
    expect(recorder.outline(server)).toEqual(['GET /jobs/count', '  JobsController.count']);
  });

  it('keeps routes working with @Span above or below the route decorator', async () => {
    expect((await fetch(`${running.url}/quotes`)).status).toBe(200);
    const server = await recorder.waitForServerSpan('/quotes');
    expect(recorder.outline(server)).toEqual([
      'GET /quotes',
      '  QuotesController.list',
      '    quotes.health-of-rates',
    ]);
  });
});
