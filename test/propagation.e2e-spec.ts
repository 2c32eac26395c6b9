import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { createServer, request, type IncomingHttpHeaders, type OutgoingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OtelModule, type OtelModuleOptions } from '../lib/index.js';
import { startApp } from './support/apps.js';
import { ROOT, runNode, startChildApp, type ChildApp } from './support/child-app.js';
import { OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver.js';
import { ZipkinReceiver } from './support/zipkin-receiver.js';

const TRACE_ID = '12345678901234567890123456789012';
const PARENT_ID = '1234567890123456';
const HOP_APP = `${ROOT}/build/fixtures/hop-app.js`;

/** A service on 127.0.0.1 that remembers the headers of every call it receives. */
class Downstream {
  readonly received: IncomingHttpHeaders[] = [];
  private readonly server = createServer((req, res) => {
    this.received.push(req.headers);
    res.end('{}');
  });

  static async start(): Promise<Downstream> {
    const downstream = new Downstream();
    await new Promise<void>((resolve) => downstream.server.listen(0, '127.0.0.1', resolve));
    return downstream;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let downstream: Downstream;

/** The W3C test harness's service: calls back downstream (three times on /test/3) with fetch. */
@Controller('test')
class HarnessController {
  @Get()
  async once() {
    await (await fetch(downstream.url)).text();
    return {};
  }

  @Get('3')
  async thrice() {
    for (let i = 0; i < 3; i++) await (await fetch(downstream.url)).text();
    return {};
  }
}

/** Sends one request whose headers may repeat (each array item is its own header line), as the harness does. */
function send(url: string, headers: OutgoingHttpHeaders): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

interface Sent {
  traceId: string;
  parentId: string;
  flags: number;
  tracestate?: string;
}

function sentDownstream(headers: IncomingHttpHeaders): Sent {
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(String(headers.traceparent));
  if (!match) throw new Error(`no valid traceparent downstream: ${JSON.stringify(headers)}`);
  return { traceId: match[1], parentId: match[2], flags: Number.parseInt(match[3], 16), tracestate: headers.tracestate as string | undefined };
}

describe('W3C Trace Context through a Nest app (the conformance harness cases)', () => {
  let app: INestApplication;
  let url: string;

  async function call(headers: OutgoingHttpHeaders, path = '/test'): Promise<Sent[]> {
    const before = downstream.received.length;
    expect(await send(url + path, headers)).toBe(200);
    return downstream.received.slice(before).map(sentDownstream);
  }
  const one = async (headers: OutgoingHttpHeaders) => (await call(headers))[0];
  const traceparent = (flags = '00') => `00-${TRACE_ID}-${PARENT_ID}-${flags}`;

  beforeAll(async () => {
    downstream = await Downstream.start();
    @Module({ imports: [OtelModule.forRoot({ serviceName: 'harness', exporter: 'none' })], controllers: [HarnessController] })
    class HarnessModule {}
    ({ app, url } = await startApp(HarnessModule));
  });

  afterAll(async () => {
    await app.close();
    await downstream.stop();
  });

  it('starts a trace without traceparent, and with a tracestate alone discards the tracestate', async () => {
    const fresh = await one({});
    expect(fresh.traceId).not.toBe(TRACE_ID);
    expect(fresh.tracestate).toBeUndefined();
    expect((await one({ tracestate: 'foo=1,bar=2' })).tracestate).toBeUndefined();
  });

  it('continues a valid traceparent with a new parent id', async () => {
    const sent = await one({ traceparent: traceparent('01') });
    expect(sent).toMatchObject({ traceId: TRACE_ID, flags: 1 });
    expect(sent.parentId).not.toBe(PARENT_ID);
  });

  it('starts a new trace for two traceparent headers', async () => {
    const sent = await one({ traceparent: [`00-${TRACE_ID.replace(/2$/, '1')}-${PARENT_ID}-01`, traceparent('01')] });
    expect([TRACE_ID, TRACE_ID.replace(/2$/, '1')]).not.toContain(sent.traceId);
  });

  it.each([
    ['version 00 with a trailing dot', `00-${TRACE_ID}-${PARENT_ID}-01.`],
    ['version 00 with more fields', `00-${TRACE_ID}-${PARENT_ID}-01-what-the-future-will-be-like`],
    ['version ff', `ff-${TRACE_ID}-${PARENT_ID}-01`],
    ['an all-zero parent id', `00-${TRACE_ID}-0000000000000000-01`],
    ['an upper-case trace id', `00-${TRACE_ID.replace('1', 'A')}-${PARENT_ID}-01`],
    ['a three-digit flags field', `00-${TRACE_ID}-${PARENT_ID}-001`],
  ])('starts a new trace for %s', async (_, header) => {
    expect((await one({ traceparent: header })).traceId).not.toBe(TRACE_ID);
  });

  it('reads a later version with extra fields, and downgrades it to 00', async () => {
    expect((await one({ traceparent: `cc-${TRACE_ID}-${PARENT_ID}-01-what-the-future-will-be-like` })).traceId).toBe(TRACE_ID);
    expect((await one({ traceparent: `cc-${TRACE_ID}-${PARENT_ID}-01.what-the-future-will-be-like` })).traceId).not.toBe(TRACE_ID);
  });

  it('ignores spaces and tabs around traceparent', async () => {
    expect((await one({ traceparent: `\t ${traceparent('01')} \t` })).traceId).toBe(TRACE_ID);
  });

  it('passes tracestate on, from several headers as one list in order', async () => {
    const sent = await one({ traceparent: traceparent(), tracestate: ['foo=1,bar=2', 'rojo=1,congo=2', 'baz=3'] });
    expect(sent.tracestate).toBe('foo=1,bar=2,rojo=1,congo=2,baz=3');
    expect((await one({ traceparent: traceparent(), TrAcEsTaTe: 'foo=1' })).tracestate).toBe('foo=1');
    expect((await one({ traceparent: traceparent(), tracestate: ['', 'foo=1'] })).tracestate).toBe('foo=1');
    expect((await one({ traceparent: traceparent(), tracestate: 'foo=1 \t , \t bar=2, \t baz=3' })).tracestate).toBe('foo=1,bar=2,baz=3');
  });

  it('keeps 32 members across headers and discards the whole tracestate at 33', async () => {
    const members = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `bar${from + i}=${from + i}`).join(',');
    const kept = await one({ traceparent: traceparent(), tracestate: [members(1, 10), members(11, 20), members(21, 30), members(31, 32)] });
    expect(kept.tracestate?.split(',')).toHaveLength(32);
    expect((await one({ traceparent: traceparent(), tracestate: [members(1, 10), members(11, 20), members(21, 30), members(31, 33)] })).tracestate).toBeUndefined();
  });

  it.each([
    ['a capital letter in a key', 'FOO=1'],
    ['a dot in a key', 'foo.bar=1'],
    ['a key starting with @', '@foo=1,bar=2'],
    ['a 257 character key', `foo=1,${'z'.repeat(257)}=1`],
    ['an equals sign in a value', 'foo=bar=baz'],
    ['an empty value', 'foo=,bar=3'],
  ])('discards the whole tracestate for %s and keeps the traceparent', async (_, tracestate) => {
    const sent = await one({ traceparent: traceparent(), tracestate });
    expect(sent.traceId).toBe(TRACE_ID);
    expect(sent.tracestate).toBeUndefined();
  });

  it.each([
    ['at signs', 'foo@=1,foo@@bar=2,foo@bar@baz=3,bar=4'],
    ['a 241+1+14 character key', `foo=1,${'t'.repeat(241)}@${'v'.repeat(14)}=1`],
    ['a 256 character key', `foo=1,${'z'.repeat(256)}=1`],
  ])('passes on keys with %s', async (_, tracestate) => {
    expect((await one({ traceparent: traceparent(), tracestate })).tracestate).toBe(tracestate);
  });

  it('keeps one member of a repeated key', async () => {
    expect((await one({ traceparent: traceparent(), tracestate: 'foo=1,foo=2' })).tracestate).toBe('foo=1');
    expect((await one({ traceparent: traceparent(), tracestate: ['foo=1', 'foo=1'] })).tracestate).toBe('foo=1');
  });

  it('gives each call a new parent id under one inherited trace id', async () => {
    const sent = await call({ traceparent: traceparent('01') }, '/test/3');
    expect(new Set(sent.map((s) => s.traceId))).toEqual(new Set([TRACE_ID]));
    expect(new Set(sent.map((s) => s.parentId)).size).toBe(3);
    const fresh = await call({ traceparent: `00-${'0'.repeat(32)}-${PARENT_ID}-01` }, '/test/3');
    expect(fresh.map((s) => s.traceId)).not.toContain('0'.repeat(32));
    expect(new Set(fresh.map((s) => s.parentId)).size).toBe(3);
  });

  describe('Level 2: the random trace-id flag', () => {
    it('is kept when it arrives set', async () => {
      const sent = await one({ traceparent: traceparent('02') });
      expect(sent.traceId).toBe(TRACE_ID);
      expect(sent.parentId).not.toBe(PARENT_ID);
      expect(sent.flags & 0x02).toBe(0x02);
    });

    it('is never set on a trace id that arrived without it', async () => {
      expect((await one({ traceparent: traceparent('01') })).flags).toBe(0x01);
      expect((await one({ traceparent: traceparent('00') })).flags).toBe(0x00);
    });

    it('is set on traces this service starts', async () => {
      expect((await one({})).flags).toBe(0x03);
    });
  });
});

describe('the random trace-id flag when nothing is sampled', () => {
  it('is still propagated with the trace this unsampled service started', async () => {
    downstream = await Downstream.start();
    @Module({ imports: [OtelModule.forRoot({ serviceName: 'unsampled', exporter: 'none', sampler: 0 })], controllers: [HarnessController] })
    class UnsampledModule {}
    const { app, url } = await startApp(UnsampledModule);
    try {
      await send(`${url}/test`, {});
      await send(`${url}/test`, { traceparent: `00-${TRACE_ID}-${PARENT_ID}-02` });
      const [fresh, continued] = downstream.received.map(sentDownstream);
      expect(fresh.flags).toBe(0x02);
      expect(continued).toMatchObject({ traceId: TRACE_ID, flags: 0x02 });
    } finally {
      await app.close();
      await downstream.stop();
    }
  });
});

describe('a B3 migration across three Nest services', () => {
  let receiver: OtlpReceiver;
  const apps: ChildApp[] = [];

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
  });

  afterAll(async () => {
    await Promise.all(apps.map((app) => app.stop()));
    await receiver.stop();
  });

  async function hop(service: string, propagators: string, next?: ChildApp): Promise<ChildApp> {
    const app = await startChildApp(HOP_APP, {
      OTEL_SERVICE_NAME: service,
      OTEL_PROPAGATORS: propagators,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '50',
      ...(next ? { HOP_NEXT: `${next.url}/hop` } : {}),
    });
    apps.push(app);
    return app;
  }

  interface HopAnswer {
    received: Record<string, string>;
    downstream?: HopAnswer;
  }

  it('keeps one trace from a B3-only caller through the composite to a traceparent-only callee', async () => {
    const callee = await hop('callee', 'tracecontext');
    const middle = await hop('middle', 'tracecontext,baggage,b3multi', callee);
    const caller = await hop('caller', 'b3multi', middle);

    const answer = (await (await fetch(`${caller.url}/hop`)).json()) as HopAnswer;
    const atMiddle = answer.downstream!.received;
    const atCallee = answer.downstream!.downstream!.received;
    expect(atMiddle['x-b3-traceid']).toMatch(/^[0-9a-f]{32}$/);
    expect(atMiddle.traceparent).toBeUndefined();
    expect(atCallee.traceparent).toMatch(new RegExp(`^00-${atMiddle['x-b3-traceid']}-[0-9a-f]{16}-0[13]$`));
    expect(atCallee['x-b3-traceid']).toBe(atMiddle['x-b3-traceid']);

    const traceId = atMiddle['x-b3-traceid'];
    const spans = await receiver.waitFor((all) => ['caller', 'middle', 'callee'].every((s) => all.some((span) => span.kind === 'SERVER' && span.resource['service.name'] === s)));
    const serverOf = (service: string) => spans.find((s) => s.kind === 'SERVER' && s.resource['service.name'] === service)!;
    const clientOf = (service: string) => spans.find((s) => s.kind === 'CLIENT' && s.resource['service.name'] === service)!;
    for (const service of ['caller', 'middle', 'callee']) expect(serverOf(service).traceId).toBe(traceId);
    expect(serverOf('caller').parentSpanId).toBe('');
    expect(serverOf('middle').parentSpanId).toBe(clientOf('caller').spanId);
    expect(serverOf('callee').parentSpanId).toBe(clientOf('middle').spanId);
    expect(atMiddle['x-b3-spanid']).toBe(clientOf('caller').spanId);
  });

  it('warns once, at start, about Jaeger agent variables without an OTLP endpoint', async () => {
    const app = await startChildApp(HOP_APP, { OTEL_SERVICE_NAME: 'legacy', JAEGER_AGENT_HOST: 'jaeger-agent', JAEGER_AGENT_PORT: '6831' });
    apps.push(app);
    await fetch(`${app.url}/hop`);
    const warnings = app.output().split('\n').filter((line) => line.includes('JAEGER_AGENT_HOST'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('set OTEL_EXPORTER_OTLP_ENDPOINT=http://jaeger-agent:4317');
  });
});


@Controller('orders')
class OrdersController {
  @Get('ok')
  async ok() {
    await (await fetch(downstream.url)).text();
    return { ok: true };
  }

  @Get('broken')
  broken() {
    throw new Error('ledger unavailable');
  }
}

describe('the Zipkin exporter, alone and beside OTLP', () => {
  let app: INestApplication | undefined;

  beforeAll(async () => {
    downstream = await Downstream.start();
  });

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  afterAll(async () => {
    await downstream.stop();
  });

  async function start(options: OtelModuleOptions): Promise<string> {
    @Module({
      imports: [OtelModule.forRoot({ serviceName: 'orders', batch: { scheduledDelayMillis: 50 }, shutdownTimeoutMillis: 1000, ...options })],
      controllers: [OrdersController],
    })
    class OrdersModule {}
    const started = await startApp(OrdersModule);
    app = started.app;
    return started.url;
  }

  it('sends Zipkin v2 JSON: kinds, parent ids, tags, the service name and the error tag', async () => {
    const zipkin = await ZipkinReceiver.start();
    try {
      const url = await start({ exporter: 'zipkin', zipkin: { endpoint: zipkin.url } });
      await send(`${url}/orders/ok`, {});
      await send(`${url}/orders/broken`, {});
      const spans = await zipkin.waitFor((all) => all.some((s) => s.tags['http.route'] === '/orders/broken') && all.some((s) => s.kind === 'CLIENT'));
      const server = spans.find((s) => s.kind === 'SERVER' && s.tags['http.route'] === '/orders/ok')!;
      const handler = spans.find((s) => s.name === 'OrdersController.ok')!;
      const client = spans.find((s) => s.kind === 'CLIENT')!;
      expect(server).toMatchObject({ name: 'GET /orders/ok', localEndpoint: { serviceName: 'orders' } });
      expect(server.parentId).toBeUndefined();
      expect(server.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(server.tags).toMatchObject({ 'http.request.method': 'GET', 'http.response.status_code': '200', 'service.name': 'orders' });
      expect(handler).toMatchObject({ traceId: server.traceId, parentId: server.id });
      expect(handler.kind).toBeUndefined();
      expect(client).toMatchObject({ traceId: server.traceId, parentId: handler.id });
      expect(server.duration).toBeGreaterThan(0);
      expect(server.timestamp).toBeGreaterThan(Date.now() * 1000 - 60e6);

      const failed = spans.find((s) => s.kind === 'SERVER' && s.tags['http.route'] === '/orders/broken')!;
      expect(failed.tags['otel.status_code']).toBe('ERROR');
      expect(failed.tags.error).toBeTruthy();
      const failedHandler = spans.find((s) => s.name === 'OrdersController.broken')!;
      expect(failedHandler.tags).toMatchObject({ 'otel.status_code': 'ERROR', 'error.type': 'Error' });
      expect(failedHandler.tags.error).toBeTruthy();
    } finally {
      await app?.close();
      app = undefined;
      await zipkin.stop();
    }
  });

  it('sends every span to both OTLP and Zipkin', async () => {
    const [otlp, zipkin] = await Promise.all([OtlpReceiver.start(), ZipkinReceiver.start()]);
    try {
      const url = await start({ exporter: ['otlp', 'zipkin'], otlp: { endpoint: otlp.url }, zipkin: { endpoint: zipkin.url } });
      for (let i = 0; i < 5; i++) await send(`${url}/orders/ok`, {});
      const viaOtlp = await otlp.waitFor((spans) => spans.length >= 15);
      const viaZipkin = await zipkin.waitFor((spans) => spans.length >= 15);
      expect(viaOtlp).toHaveLength(15);
      expect(viaZipkin).toHaveLength(15);
      expect(new Set(viaZipkin.map((s) => s.id))).toEqual(new Set(viaOtlp.map((s: ReceivedSpan) => s.spanId)));
    } finally {
      await app?.close();
      app = undefined;
      await Promise.all([otlp.stop(), zipkin.stop()]);
    }
  });

  it.each(['refusing', 'hanging'] as const)('delivers OTLP spans on time while Zipkin is %s', async (fault) => {
    const otlp = await OtlpReceiver.start();
    const zipkin = fault === 'hanging' ? await ZipkinReceiver.start('hang') : undefined;
    try {
      const url = await start({
        exporter: ['otlp', 'zipkin'],
        otlp: { endpoint: otlp.url },
        zipkin: { endpoint: zipkin?.url ?? 'http://127.0.0.1:9/api/v2/spans', timeoutMillis: 500 },
      });
      for (let round = 0; round < 3; round++) {
        const started = Date.now();
        for (let i = 0; i < 5; i++) await send(`${url}/orders/ok`, {});
        await otlp.waitFor((spans) => spans.length >= 15 * (round + 1), 2000);
        expect(Date.now() - started).toBeLessThan(2000);
      }
    } finally {
      await app?.close();
      app = undefined;
      await Promise.all([otlp.stop(), zipkin?.stop()]);
    }
  });

  it('delivers Zipkin spans while the OTLP collector is down', async () => {
    const [otlp, zipkin] = await Promise.all([OtlpReceiver.start('unavailable'), ZipkinReceiver.start()]);
    try {
      const url = await start({ exporter: ['otlp', 'zipkin'], otlp: { endpoint: otlp.url }, zipkin: { endpoint: zipkin.url } });
      for (let i = 0; i < 5; i++) await send(`${url}/orders/ok`, {});
      await zipkin.waitFor((spans) => spans.length >= 15, 3000);
      expect(otlp.spans).toHaveLength(0);
    } finally {
      await app?.close();
      app = undefined;
      await Promise.all([otlp.stop(), zipkin.stop()]);
    }
  });
});

describe('the B3 propagator package', () => {
  // In a process of its own, on the built package: jest's module registry would hide what Node itself loaded.
  const script = `import { createRequire } from 'node:module';
    import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
    const { createPropagator } = await import('${ROOT}/dist/propagation/propagators.js');
    const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((file) => file.includes('propagator-b3'));
    createPropagator(['tracecontext', 'baggage', 'jaeger']);
    const withoutB3 = loaded();
    const headers = {};
    createPropagator(['b3multi']).inject(
      trace.setSpanContext(ROOT_CONTEXT, { traceId: '${TRACE_ID}', spanId: '${PARENT_ID}', traceFlags: 1 }),
      headers,
      { set: (carrier, key, value) => { carrier[key] = value; } },
    );
    console.log(JSON.stringify({ withoutB3, withB3: loaded(), headers }));`;

  it('is loaded only when b3 or b3multi is configured, and then works', async () => {
    const { code, output } = await runNode(['--input-type=module', '-e', script], { cwd: ROOT });
    expect(code).toBe(0);
    const result = JSON.parse(output.trim().split('\n').pop() ?? '{}');
    expect(result).toEqual({
      withoutB3: false,
      withB3: true,
      headers: { 'x-b3-traceid': TRACE_ID, 'x-b3-spanid': PARENT_ID, 'x-b3-sampled': '1' },
    });
  });
});
