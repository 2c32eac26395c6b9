import {
  Body,
  Catch,
  Controller,
  Get,
  HttpStatus,
  Injectable,
  MiddlewareConsumer,
  Module,
  NotFoundException,
  Param,
  ParseIntPipe,
  Post,
  Res,
  Sse,
  UseFilters,
  UseGuards,
  UseInterceptors,
  Version,
  VERSION_NEUTRAL,
  VersioningType,
  type ArgumentsHost,
  type CanActivate,
  type ExceptionFilter,
  type ExecutionContext,
  type NestMiddleware,
  type NestModule,
} from '@nestjs/common';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { Agent, request as httpRequest, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { interval, map, Observable, take, toArray } from 'rxjs';
import { OtelModule, TracingInterceptor } from '../lib/index.js';
import { PLATFORMS, startApp, type RunningApp } from './support/apps.js';
import { SpanRecorder } from '../lib/testing/index.js';

const CALLER = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };
const TRACEPARENT = `00-${CALLER.traceId}-${CALLER.spanId}-01`;

class InventoryError extends Error {}

/** Maps InventoryError to 503 and remembers what it caught, to prove the interceptor rethrows it unchanged. */
@Catch(InventoryError)
class InventoryFilter implements ExceptionFilter {
  static caught: unknown[] = [];
  catch(error: InventoryError, host: ArgumentsHost) {
    InventoryFilter.caught.push(error);
    const response = host.switchToHttp().getResponse<{ status?: (n: number) => unknown; code?: (n: number) => unknown }>();
    const reply = (response.code ?? response.status)?.call(response, HttpStatus.SERVICE_UNAVAILABLE) as { send(b: unknown): void };
    reply.send({ message: 'inventory unavailable' });
  }
}

@Injectable()
class StaffOnlyGuard implements CanActivate {
  canActivate(execution: ExecutionContext) {
    return execution.switchToHttp().getRequest<{ headers: Record<string, string> }>().headers['x-staff'] === 'yes';
  }
}

@Injectable()
class FragileMiddleware implements NestMiddleware {
  use() {
    throw new Error('middleware failed');
  }
}

@Controller('items')
class ItemsController {
  static thrown?: InventoryError;
  static timeoutSeen: (string | undefined)[] = [];

  /** Waits for a 20 ms response timeout, recording the trace its callback runs in. */
  @Get('timed-out')
  async timedOut(@Res({ passthrough: true }) reply: ServerResponse & { raw?: ServerResponse }) {
    const response = reply.raw ?? reply;
    await new Promise<void>((resolve) =>
      response.setTimeout(20, () => {
        ItemsController.timeoutSeen.push(trace.getActiveSpan()?.spanContext().traceId);
        resolve();
      }),
    );
    return { timedOut: true };
  }

  @Get('secret')
  @UseGuards(StaffOnlyGuard)
  secret() {
    return { secret: true };
  }

  @Get('broken')
  @UseFilters(InventoryFilter)
  broken() {
    ItemsController.thrown = new InventoryError('inventory database is down');
    throw ItemsController.thrown;
  }

  @Get('missing')
  missing() {
    throw new NotFoundException('no such item');
  }

  @Get('batch')
  batch(): Observable<number[]> {
    return interval(5).pipe(take(3), toArray());
  }

  @Get('twice')
  @UseInterceptors(TracingInterceptor)
  twice() {
    return { twice: true };
  }

  @Get('slow')
  async slow() {
    await new Promise((resolve) => setTimeout(resolve, 300));
    return { slow: true };
  }

  @Sse('events')
  events(): Observable<{ data: number }> {
    return interval(20).pipe(map((n) => ({ data: n })));
  }

  @Get(':id')
  findOne(@Param('id', ParseIntPipe) id: number) {
    return { id };
  }

  @Post()
  create(@Body() body: { name: string }) {
    return { created: body.name };
  }
}

@Controller({ path: 'health', version: VERSION_NEUTRAL })
class HealthController {
  @Get()
  check() {
    return { status: 'ok' };
  }
}

@Controller('things')
class VersionedController {
  @Get(':id')
  @Version('2')
  findOne(@Param('id') id: string) {
    return { id };
  }
}

const recorder = new SpanRecorder();

@Module({
  imports: [
    OtelModule.forRoot({
      serviceName: 'http-e2e',
      exporter: 'none',
      spanProcessors: [recorder],
      // The test's own client requests must reach the server with exactly the headers each test sets.
      instrumentations: [],
      warnOnMissingShutdownHooks: false,
    }),
  ],
  controllers: [ItemsController, HealthController, VersionedController],
})
class AppModule implements NestModule {
  configure(consumer: MiddlewareConsumer) {
    consumer.apply(FragileMiddleware).forRoutes('fragile');
  }
}

function handlerOf(server: ReadableSpan): ReadableSpan[] {
  return recorder.childrenOf(server).filter((s) => s.kind === SpanKind.INTERNAL);
}

/** A raw request, for header shapes `fetch` cannot send (repeated headers), optionally over a given agent. */
function rawGet(url: string, headers: Record<string, string | string[]>, agent?: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** V8's own answer to whether two objects share a hidden class, which decides whether property reads stay fast. */
function haveSameHiddenClass(a: object, b: object): boolean {
  setFlagsFromString('--allow-natives-syntax');
  return (new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean)(a, b);
}

describe.each(PLATFORMS)('HTTP tracing on %s', (platform) => {
  let running: RunningApp;
  let url: string;

  beforeAll(async () => {
    running = await startApp(AppModule, platform, (app) => {
      app.setGlobalPrefix('api', { exclude: ['health', 'fragile'] });
      app.enableVersioning({ type: VersioningType.URI, defaultVersion: '1' });
    });
    url = running.url;
  });

  afterAll(async () => {
    await running.app.close();
  });

  beforeEach(() => recorder.reset());

  it('makes a SERVER span named after the route, continuing the caller trace, with a handler span under it', async () => {
    const response = await fetch(`${url}/api/v1/items/42?expand=owner`, { headers: { traceparent: TRACEPARENT, 'user-agent': 'e2e/1.0' } });
    expect(await response.json()).toEqual({ id: 42 });

    const server = await recorder.waitForServerSpan('/api/v1/items/42');
    expect(server.name).toBe('GET /api/v1/items/:id');
    expect(server.spanContext().traceId).toBe(CALLER.traceId);
    expect(server.parentSpanContext?.spanId).toBe(CALLER.spanId);
    expect(server.status.code).toBe(SpanStatusCode.UNSET);
    expect(server.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/api/v1/items/:id',
      'http.response.status_code': 200,
      'url.path': '/api/v1/items/42',
      'url.query': 'expand=owner',
      'url.scheme': 'http',
      'server.address': '127.0.0.1',
      'user_agent.original': 'e2e/1.0',
      'network.protocol.version': '1.1',
    });
    const [handler] = handlerOf(server);
    expect(handler.name).toBe('ItemsController.findOne');
    expect(handler.attributes).toEqual({
      component: '@nestjs/core',
      'nestjs.type': 'handler',
      'nestjs.controller': 'ItemsController',
      'nestjs.callback': 'findOne',
      'nestjs.transport': 'http',
    });
    expect(handler.spanContext().traceId).toBe(CALLER.traceId);
  });

  it('names versioned routes with the version, and traces JSON POST bodies', async () => {
    await fetch(`${url}/api/v2/things/a1`);
    const created = await fetch(`${url}/api/v1/items`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'lamp' }),
    });
    expect(await created.json()).toEqual({ created: 'lamp' });

    expect((await recorder.waitForServerSpan('/api/v2/things/a1')).name).toBe('GET /api/v2/things/:id');
    const post = await recorder.waitForServerSpan('/api/v1/items');
    expect(post.name).toBe('POST /api/v1/items');
    expect(post.attributes['http.response.status_code']).toBe(201);
    expect(handlerOf(post).map((s) => s.name)).toEqual(['ItemsController.create']);
  });

  it('records a handler exception on the handler span, rethrows it unchanged, and marks a 5xx server span ERROR', async () => {
    InventoryFilter.caught = [];
    const response = await fetch(`${url}/api/v1/items/broken`);
    expect(response.status).toBe(503);
    expect(InventoryFilter.caught).toEqual([ItemsController.thrown]);

    const server = await recorder.waitForServerSpan('/api/v1/items/broken');
    expect(server.status.code).toBe(SpanStatusCode.ERROR);
    expect(server.attributes).toMatchObject({ 'http.response.status_code': 503, 'error.type': '503' });
    const [handler] = handlerOf(server);
    expect(handler.status).toEqual({ code: SpanStatusCode.ERROR, message: 'inventory database is down' });
    expect(handler.attributes['error.type']).toBe('InventoryError');
    expect(handler.events.map((e) => [e.name, e.attributes?.['exception.message']])).toEqual([
      ['exception', 'inventory database is down'],
    ]);
  });

  it('records 4xx on the server span without marking it ERROR', async () => {
    expect((await fetch(`${url}/api/v1/items/missing`)).status).toBe(404);
    const server = await recorder.waitForServerSpan('/api/v1/items/missing');
    expect(server.status.code).toBe(SpanStatusCode.UNSET);
    expect(server.attributes['http.response.status_code']).toBe(404);
    expect(server.attributes['error.type']).toBeUndefined();
  });

  it.each([
    ['an unknown route (404)', '/api/v1/nowhere/at/all', {}, 404, 'GET'],
    ['a guard denial (403)', '/api/v1/items/secret', {}, 403, 'GET /api/v1/items/secret'],
    ['a pipe rejection (400)', '/api/v1/items/not-a-number', {}, 400, 'GET /api/v1/items/:id'],
    ['a middleware error (500)', '/fragile', {}, 500, 'GET'],
  ])('makes exactly one server span for %s, with the status the client got', async (_, path, headers, status, name) => {
    expect((await fetch(`${url}${path}`, { headers })).status).toBe(status);
    const server = await recorder.waitForServerSpan(path);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(recorder.ofKind(SpanKind.SERVER)).toHaveLength(1);
    expect(server.name).toBe(name);
    expect(server.attributes['http.response.status_code']).toBe(status);
    expect(server.status.code).toBe(status >= 500 ? SpanStatusCode.ERROR : SpanStatusCode.UNSET);
  });

  it("follows a caller's decision not to sample: the request is answered and records nothing", async () => {
    const unsampled = `00-${CALLER.traceId}-${CALLER.spanId}-00`;
    expect(await (await fetch(`${url}/api/v1/items/5`, { headers: { traceparent: unsampled } })).json()).toEqual({ id: 5 });
    expect((await fetch(`${url}/api/v1/items`, { method: 'POST', headers: { traceparent: unsampled, 'content-type': 'application/json' }, body: '{"name":"x"}' })).status).toBe(201);
    await fetch(`${url}/api/v1/items/6`);
    await recorder.waitForServerSpan('/api/v1/items/6');
    expect(recorder.byTrace(CALLER.traceId)).toEqual([]);
  });

  it("keeps every connection's socket in one hidden class, whichever of its requests were sampled", async () => {
    // Node's HTTP code reads the socket on every request; sockets of several shapes make those reads megamorphic.
    const sockets: Socket[] = [];
    const server = running.app.getHttpServer() as Server;
    const collect = (socket: Socket) => sockets.push(socket);
    server.on('connection', collect);
    const unsampled = { traceparent: `00-${CALLER.traceId}-${CALLER.spanId}-00` };
    const laterSampled = new Agent({ keepAlive: true, maxSockets: 1 });
    const firstSampled = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect(await rawGet(`${url}/api/v1/items/11`, unsampled, laterSampled)).toBe(200);
      expect(await rawGet(`${url}/api/v1/items/12`, {}, laterSampled)).toBe(200);
      expect(await rawGet(`${url}/api/v1/items/13`, {}, firstSampled)).toBe(200);
      expect(await rawGet(`${url}/api/v1/items/14`, unsampled, firstSampled)).toBe(200);
      // The client address of a connection's first request and of a later one, read from what Node cached.
      expect((await recorder.waitForServerSpan('/api/v1/items/12')).attributes['client.address']).toBe('127.0.0.1');
      expect((await recorder.waitForServerSpan('/api/v1/items/13')).attributes['client.address']).toBe('127.0.0.1');
      expect(recorder.byTrace(CALLER.traceId)).toEqual([]);
      expect(sockets).toHaveLength(2);
      expect(haveSameHiddenClass(sockets[0], sockets[1])).toBe(true);
    } finally {
      server.off('connection', collect);
      laterSampled.destroy();
      firstSampled.destroy();
    }
  });

  it("runs a kept-alive connection's idle timer outside the request that finished on it, and a request's own timeout inside it", async () => {
    // The idle timer would otherwise hold the finished request's context, spans included, until the next request.
    const server = running.app.getHttpServer() as Server;
    const previousKeepAlive = server.keepAliveTimeout;
    server.keepAliveTimeout = 150;
    const timeouts: string[] = [];
    let idle!: () => void;
    const idled = new Promise<void>((resolve) => (idle = resolve));
    const watch = (socket: Socket) =>
      socket.on('timeout', () => {
        timeouts.push(trace.getActiveSpan()?.spanContext().traceId ?? 'no active span');
        if (timeouts.length === 2) idle();
      });
    server.on('connection', watch);
    // A raw client: Node's own agent would close the connection itself, as the server's Keep-Alive header tells it.
    const client = connect(Number(new URL(url).port), '127.0.0.1');
    try {
      let answer = '';
      const answered = new Promise<void>((resolve) =>
        client.on('data', (chunk: Buffer) => {
          answer += chunk;
          if (answer.includes('"timedOut":true')) resolve();
        }),
      );
      client.write(`GET /api/v1/items/timed-out HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: keep-alive\r\ntraceparent: ${TRACEPARENT}\r\n\r\n`);
      const timed = await recorder.waitForServerSpan('/api/v1/items/timed-out');
      expect(timed.spanContext().traceId).toBe(CALLER.traceId);
      // The response's own 20 ms timeout fired inside the request, under its spans.
      expect(ItemsController.timeoutSeen.splice(0)).toEqual([CALLER.traceId]);
      await answered;
      expect(answer).toMatch(/^HTTP\/1\.1 200 /);
      // Then the idle timer of the kept-alive connection (Node adds a grace period to keepAliveTimeout).
      await idled;
      expect(timeouts).toEqual([CALLER.traceId, 'no active span']);
    } finally {
      server.off('connection', watch);
      server.keepAliveTimeout = previousKeepAlive;
      client.destroy();
    }
  });

  it('produces no span at all for ignored routes', async () => {
    expect((await fetch(`${url}/health`)).status).toBe(200);
    await fetch(`${url}/api/v1/items/1`);
    await recorder.waitForServerSpan('/api/v1/items/1');
    expect(recorder.spans.filter((s) => String(s.attributes['url.path']).startsWith('/health'))).toEqual([]);
    expect(recorder.spans.filter((s) => s.name.includes('HealthController'))).toEqual([]);
  });

  it('ends the handler span of an Observable handler exactly once, when it completes', async () => {
    expect(await (await fetch(`${url}/api/v1/items/batch`)).json()).toEqual([0, 1, 2]);
    const server = await recorder.waitForServerSpan('/api/v1/items/batch');
    expect(handlerOf(server).map((s) => s.name)).toEqual(['ItemsController.batch']);
  });

  it('opens one handler span when the interceptor is applied both globally and on the route', async () => {
    await fetch(`${url}/api/v1/items/twice`);
    const server = await recorder.waitForServerSpan('/api/v1/items/twice');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(recorder.spans.filter((s) => s.kind === SpanKind.INTERNAL).map((s) => s.name)).toEqual(['ItemsController.twice']);
    expect(handlerOf(server)).toHaveLength(1);
  });

  it('ends the spans of an SSE stream once when the client disconnects', async () => {
    const abort = new AbortController();
    const response = await fetch(`${url}/api/v1/items/events`, { signal: abort.signal });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let received = '';
    while (!received.includes('data: 0')) received += new TextDecoder().decode((await reader.read()).value);
    abort.abort();
    await reader.cancel().catch(() => undefined);

    const server = await recorder.waitForServerSpan('/api/v1/items/events');
    await recorder.waitFor(() => handlerOf(server).length > 0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.name).toBe('GET /api/v1/items/events');
    expect(server.attributes['error.type']).toBe('aborted');
    expect(handlerOf(server).map((s) => s.name)).toEqual(['ItemsController.events']);
    expect(recorder.spans.filter((s) => s.name === 'ItemsController.events')).toHaveLength(1);
  });

  it('ends the server span of a request the client abandoned, and the handler span once it finishes', async () => {
    const abort = new AbortController();
    const pending = fetch(`${url}/api/v1/items/slow`, { signal: abort.signal }).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 100));
    abort.abort();
    expect(await pending).toMatchObject({ name: 'AbortError' });

    const server = await recorder.waitForServerSpan('/api/v1/items/slow');
    expect(server.attributes['error.type']).toBe('aborted');
    await recorder.waitFor(() => handlerOf(server).length === 1);
    expect(handlerOf(server)[0].name).toBe('ItemsController.slow');
  });

  it.each([
    ['a malformed traceparent', { traceparent: '00-not-a-trace-01' }],
    ['an all-zero trace id', { traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' }],
    ['a repeated traceparent header', { traceparent: [TRACEPARENT, '00-11111111111111111111111111111111-2222222222222222-01'] }],
    ['an oversized baggage header', { baggage: Array.from({ length: 400 }, (_, i) => `k${i}=${'v'.repeat(20)}`).join(',') }],
  ])('starts a fresh trace for %s without failing the request', async (_, headers) => {
    expect(await rawGet(`${url}/api/v1/items/7`, headers)).toBe(200);
    const server = await recorder.waitForServerSpan('/api/v1/items/7');
    expect(server.parentSpanContext).toBeUndefined();
    expect(server.spanContext().traceId).not.toBe(CALLER.traceId);
    expect(server.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(server.spanContext().traceId).not.toBe('0'.repeat(32));
  });

  it('continues the trace from a valid traceparent even when tracestate is oversized', async () => {
    const tracestate = Array.from({ length: 64 }, (_, i) => `vendor${i}=${'x'.repeat(200)}`).join(',');
    expect(await rawGet(`${url}/api/v1/items/8`, { traceparent: TRACEPARENT, tracestate })).toBe(200);
    const server = await recorder.waitForServerSpan('/api/v1/items/8');
    expect(server.spanContext().traceId).toBe(CALLER.traceId);
    const kept = server.spanContext().traceState?.serialize() ?? '';
    expect(kept.length).toBeLessThanOrEqual(512);
  });
});
