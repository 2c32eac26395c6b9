import * as moduleApi from 'node:module';
import { ROOT, startChildApp, type ChildApp } from './support/child-app.js';
import { OtlpReceiver } from './support/otlp-receiver.js';

const APP = `${ROOT}/build/fixtures/http-app.js`;
const PARENT = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331' };

/** Whether this Node lets the library defer loading the drivers Nest imports itself (see below). */
const DEFERS_DRIVERS = typeof (moduleApi as { registerHooks?: unknown }).registerHooks === 'function';

/**
 * Each way of starting tracing gives one server span per request, named after the route and continuing the
 * caller's trace, and a handler span under it; only the time at which auto-instrumentation starts differs.
 */
describe.each([
  ['preload with -r (CommonJS require of the ESM entry)', { FIXTURE_START: 'forRoot' }, ['-r', 'nestjs-tracing/register']],
  ['preload with --import', { FIXTURE_START: 'forRoot' }, ['--import', 'nestjs-tracing/register']],
  ['forRoot', { FIXTURE_START: 'forRoot' }, []],
  ['forRootAsync', { FIXTURE_START: 'forRootAsync' }, []],
  ['forRoot on Fastify', { FIXTURE_START: 'forRoot', FIXTURE_PLATFORM: 'fastify' }, []],
])('start order: %s', (_, startEnv, nodeArgs) => {
  let receiver: OtlpReceiver;
  let app: ChildApp;

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
    app = await startChildApp(
      APP,
      { ...startEnv, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'start-order', OTEL_BSP_SCHEDULE_DELAY: '50' },
      nodeArgs,
    );
  });

  afterAll(async () => {
    await app?.stop('SIGKILL');
    await receiver?.stop();
  });

  // kafkajs and ioredis are installed here, as in an app that has them but does not use Nest's Kafka or Redis
  // transport. Loading them costs 180 modules and, patched, slows Node's own nextTick on Fastify.
  it('loads kafkajs and ioredis only when something imports them, and patched when it does', async () => {
    const loaded = async (name: string) => ((await (await fetch(`${app.url}/loaded/${name}`)).json()) as { loaded: boolean }).loaded;
    // Only forRoot and forRootAsync without the module hook load them eagerly, on a Node without module.registerHooks.
    const eager = !DEFERS_DRIVERS && nodeArgs.length === 0;
    expect(await loaded('kafkajs')).toBe(eager);
    expect(await loaded('ioredis')).toBe(eager);
    const imported = (await (await fetch(`${app.url}/import/kafkajs`)).json()) as { patched: boolean };
    expect(imported.patched).toBe(true);
    expect(await loaded('ioredis')).toBe(eager);
  });

  it('makes one server span per request, continuing the caller trace, with a handler span under it', async () => {
    const traceparent = `00-${PARENT.traceId}-${PARENT.spanId}-01`;
    await Promise.all([1, 2, 3].map((i) => fetch(`${app.url}/work/${i}?token=tok-secret-${i}&page=${i}`, { headers: { traceparent } })));
    await fetch(`${app.url}/health`);
    const stopped = await app.stop('SIGTERM');
    expect(stopped.signal).toBe('SIGTERM');

    // The caller's trace: the requests of the test above start traces of their own.
    const servers = receiver.spans.filter((s) => s.kind === 'SERVER' && s.traceId === PARENT.traceId);
    expect(servers).toHaveLength(3);
    for (const server of servers) {
      expect(server).toMatchObject({ name: 'GET /work/:id', traceId: PARENT.traceId, parentSpanId: PARENT.spanId });
      // Privacy defaults hold in every start order, the preload's included.
      expect(server.attributes['url.query']).toMatch(/^token=%5BREDACTED%5D&page=\d$/);
      const handlers = receiver.spans.filter((s) => s.parentSpanId === server.spanId);
      expect(handlers.map((h) => h.name)).toEqual(['WorkController.work']);
    }
    expect(receiver.spans.some((s) => String(s.attributes['url.path']).startsWith('/health'))).toBe(false);
    expect(Buffer.concat(receiver.rawExports).toString('latin1')).not.toContain('tok-secret');
  });
});
