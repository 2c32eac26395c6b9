import { ROOT, startChildApp, type ChildApp } from './support/child-app.js';
import { OtlpReceiver } from './support/otlp-receiver.js';

const APP = `${ROOT}/build/fixtures/http-app.js`;
const REQUESTS = 40;

/** Exporter settings under which only the shutdown flush can deliver spans before the process ends. */
function env(receiverUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl,
    OTEL_SERVICE_NAME: 'shutdown-fixture',
    OTEL_BSP_SCHEDULE_DELAY: '60000',
    OTEL_EXPORTER_OTLP_TIMEOUT: '2000',
    ...extra,
  };
}

async function requestAll(app: ChildApp, path: string, count: number) {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const response = await fetch(`${app.url}/${path}/${i}`);
      return { status: response.status, body: (await response.json()) as { id: string } };
    }),
  );
}

describe('graceful shutdown of a child process on SIGTERM', () => {
  let receiver: OtlpReceiver | undefined;
  let app: ChildApp | undefined;

  afterEach(async () => {
    await app?.stop('SIGKILL');
    await receiver?.stop();
    app = receiver = undefined;
  });

  it.each([
    ['re-raises SIGTERM after the hooks (Nest default)', {}, { code: null, signal: 'SIGTERM' }],
    ['exits 0 with useProcessExit', { FIXTURE_PROCESS_EXIT: '1' }, { code: 0, signal: null }],
  ])('%s, having exported the spans of every request, in-flight ones included', async (_, extra, ending) => {
    receiver = await OtlpReceiver.start();
    app = await startChildApp(APP, env(receiver.url, extra));
    const done = await requestAll(app, 'work', REQUESTS);
    const inFlight = requestAll(app, 'slow', 5);
    await new Promise((resolve) => setTimeout(resolve, 100));

    const stopped = await app.stop('SIGTERM');

    expect(await inFlight).toEqual(Array.from({ length: 5 }, (_, i) => ({ status: 200, body: { id: String(i), slow: true } })));
    expect(done.every((r) => r.status === 200)).toBe(true);
    expect(stopped).toMatchObject(ending);
    expect(stopped.millis).toBeLessThan(5000);
    const servers = receiver.spans.filter((s) => s.kind === 'SERVER');
    const paths = servers.map((s) => s.attributes['url.path']).sort();
    const expected = [...done.map((_, i) => `/work/${i}`), ...Array.from({ length: 5 }, (_, i) => `/slow/${i}`)].sort();
    expect(paths).toEqual(expected);
    expect(receiver.spans.filter((s) => s.kind === 'INTERNAL')).toHaveLength(REQUESTS + 5);
    expect(servers[0].resource['service.name']).toBe('shutdown-fixture');
  });

  it('answers every request and exits within the shutdown timeout when the collector is down, saying what was lost', async () => {
    receiver = await OtlpReceiver.start();
    const deadUrl = receiver.url;
    await receiver.stop();
    receiver = undefined;
    app = await startChildApp(APP, env(deadUrl, { FIXTURE_SHUTDOWN_TIMEOUT: '1500' }));

    const responses = await requestAll(app, 'work', REQUESTS);
    const stopped = await app.stop('SIGTERM');

    expect(responses.every((r) => r.status === 200)).toBe(true);
    expect(stopped.signal).toBe('SIGTERM');
    expect(stopped.millis).toBeLessThan(1500 + 1500);
    expect(app.output()).toMatch(/\d+ span\(s\) were not exported at shutdown/);
    expect(app.output()).not.toMatch(/Unhandled|TypeError|ERROR \[/);
  });

  it('exits within the shutdown timeout when the collector accepts the connection but never answers', async () => {
    receiver = await OtlpReceiver.start('hang');
    app = await startChildApp(APP, env(receiver.url, { FIXTURE_SHUTDOWN_TIMEOUT: '1000', OTEL_EXPORTER_OTLP_TIMEOUT: '30000' }));

    await requestAll(app, 'work', 10);
    const stopped = await app.stop('SIGTERM');

    expect(stopped.signal).toBe('SIGTERM');
    expect(stopped.millis).toBeGreaterThanOrEqual(900);
    expect(stopped.millis).toBeLessThan(1000 + 1500);
    expect(receiver.exportCalls).toBeGreaterThan(0);
    expect(app.output()).toMatch(/20 span\(s\) were not exported at shutdown \(the flush did not finish within 1000 ms\)/);
  });
});
