import { status } from '@grpc/grpc-js';
import { Logger } from '@nestjs/common';
import { resolveOtelOptions, type OtelModuleOptions } from '../lib/otel.options.js';
import { TracingRuntime } from '../lib/sdk/tracing-runtime.js';
import { exportStatistics } from '../lib/index.js';
import { ROOT, startChildApp } from './support/child-app.js';
import { OtlpHttpReceiver } from './support/otlp-http-receiver.js';
import { OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver.js';
import { freePort } from './support/ports.js';
import { WarningLog } from './support/warning-log.js';

const runtime = TracingRuntime.get();

/** Starts the process's SDK exporting over OTLP to `url`, with quick retries and loss reports for the tests. */
function startExporting(url: string, options: Partial<OtelModuleOptions> = {}, protocol: 'grpc' | 'http/protobuf' = 'grpc') {
  runtime.acquire(
    resolveOtelOptions({
      serviceName: 'reliability',
      exporter: 'otlp',
      instrumentations: [],
      warnOnMissingShutdownHooks: false,
      otlp: { endpoint: url, protocol, timeoutMillis: 1000, retry: { initialBackoffMillis: 100, maxBackoffMillis: 400 }, reportIntervalMillis: 500 },
      batch: { scheduledDelayMillis: 50 },
      ...options,
    }),
    'forRoot',
  );
}

/** Steady load: `count` spans, a few every millisecond or so, as requests would end them. */
async function endSpans(count: number, prefix = 'work'): Promise<void> {
  for (let i = 0; i < count; i++) {
    runtime.tracer.startSpan(`${prefix} ${i}`).end();
    if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const ids = (spans: ReceivedSpan[]) => spans.map((s) => s.spanId);
const unique = (values: string[]) => new Set(values).size;

describe('exports that survive collector trouble', () => {
  let receiver: OtlpReceiver | undefined;
  let logger: WarningLog;

  beforeEach(() => {
    logger = new WarningLog();
    Logger.overrideLogger(logger);
  });

  afterEach(async () => {
    await runtime.release(2000);
    await receiver?.stop();
    receiver = undefined;
    Logger.overrideLogger(true);
  });

  it.each([1, 3, 10])('delivers every span once when the first %i export call(s) answer UNAVAILABLE', async (blips) => {
    receiver = await OtlpReceiver.start();
    receiver.script.push(...Array.from({ length: blips }, () => ({ code: status.UNAVAILABLE })));
    startExporting(receiver.url);
    await endSpans(300);
    expect(await runtime.forceFlush(15_000)).toBe(true);
    expect(receiver.spans).toHaveLength(300);
    expect(unique(ids(receiver.spans))).toBe(300);
    expect(exportStatistics()).toMatchObject({ exported: 300, dropped: 0, failed: 0, queued: 0 });
    expect(exportStatistics().retries).toBeGreaterThanOrEqual(blips);
  });

  it('sends each full batch alone, and the spans after it with the next full batch, the timer or a flush', async () => {
    receiver = await OtlpReceiver.start();
    // The timer does not fire within the test: only full batches go out until the flush.
    startExporting(receiver.url, { batch: { maxExportBatchSize: 100, scheduledDelayMillis: 60_000 } });
    // In one go, as a burst of requests ends them: two batches fill before the pipeline's next turn.
    for (let i = 0; i < 250; i++) runtime.tracer.startSpan(`batched ${i}`).end();
    await receiver.waitFor((spans) => spans.length >= 200);
    // Nothing else is on its way: the 50 spans of the batch still filling wait for the flush.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.exportCalls).toBe(2);
    expect(receiver.spans).toHaveLength(200);
    expect(exportStatistics().queued).toBe(50);
    expect(await runtime.forceFlush(5000)).toBe(true);
    expect(receiver.exportCalls).toBe(3);
    expect(receiver.spans).toHaveLength(250);
    expect(unique(ids(receiver.spans))).toBe(250);
    expect(exportStatistics()).toMatchObject({ exported: 250, dropped: 0, failed: 0, queued: 0 });
  });

  it('gzips gRPC messages with compression: gzip, which a gRPC server inflates (grpc-encoding)', async () => {
    receiver = await OtlpReceiver.start();
    receiver.script.push({ code: status.UNAVAILABLE });
    startExporting(receiver.url, { otlp: { endpoint: receiver.url, compression: 'gzip', timeoutMillis: 1000, retry: { initialBackoffMillis: 100, maxBackoffMillis: 400 } } });
    await endSpans(300, 'zipped');
    expect(await runtime.forceFlush(15_000)).toBe(true);
    expect(receiver.spans).toHaveLength(300);
    expect(receiver.spans.map((span) => span.name).sort()).toEqual(Array.from({ length: 300 }, (_, i) => `zipped ${i}`).sort());
    expect(exportStatistics()).toMatchObject({ exported: 300, dropped: 0, failed: 0, queued: 0, retries: 1 });
  });

  it.each([
    ['2 s', 2000, 400],
    ['20 s', 20_000, 400],
  ])('delivers every span when the collector starts %s after the app, memory bounded meanwhile', async (_, delay, count) => {
    const port = await freePort();
    startExporting(`http://127.0.0.1:${port}`, { batch: { scheduledDelayMillis: 50, maxQueueSize: 1000 } });
    const started = Date.now();
    await endSpans(count);
    const stats = exportStatistics();
    expect(stats.queued).toBe(count);
    expect(stats.exported).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, delay - (Date.now() - started))));
    receiver = await OtlpReceiver.start('ok', port);
    await receiver.waitFor((spans) => spans.length >= count, 15_000);
    // The receiver has them; the exporter counts them once the answer reaches it.
    await runtime.forceFlush(5000);
    expect(receiver.spans).toHaveLength(count);
    expect(unique(ids(receiver.spans))).toBe(count);
    expect(exportStatistics()).toMatchObject({ exported: count, dropped: 0, failed: 0, queued: 0 });
  }, 60_000);

  it('drops the newest spans past the queue bound while the collector is down, counts them and logs one line per interval', async () => {
    const port = await freePort();
    // Only full batches are sent (the timer would send a partial one whenever a slow machine lets it fire
    // between two spans), so three full batches are under way and the counts below are exact.
    startExporting(`http://127.0.0.1:${port}`, { batch: { scheduledDelayMillis: 60_000, maxQueueSize: 100, maxExportBatchSize: 50 } });
    await endSpans(400, 'early');
    // Longer than two report intervals, with spans still being lost in the second.
    await new Promise((resolve) => setTimeout(resolve, 600));
    await endSpans(50, 'late');
    await new Promise((resolve) => setTimeout(resolve, 700));
    // Three batches of 50 are being retried, and 100 more wait in the queue: the bound, however long the outage.
    const down = exportStatistics();
    expect(down.queued).toBe(250);
    expect(down.dropped).toBe(200);
    const summaries = logger.warnings.filter((w) => w.startsWith('Spans lost exporting'));
    expect(summaries).toHaveLength(2);
    expect(summaries[0]).toMatch(/150 dropped \(queue full\), 0 failed, 0 rejected/);
    expect(summaries[1]).toMatch(/50 dropped \(queue full\)/);
    expect(summaries[0]).toContain('retrying: gRPC UNAVAILABLE');

    receiver = await OtlpReceiver.start('ok', port);
    await receiver.waitFor((spans) => spans.length >= 250, 15_000);
    await runtime.forceFlush(5000);
    expect(receiver.spans).toHaveLength(250);
    // The oldest are kept and the newest dropped: what arrives is the first 250.
    expect(receiver.spans.map((s) => s.name).sort()).toEqual(Array.from({ length: 250 }, (__, i) => `early ${i}`).sort());
    expect(exportStatistics()).toMatchObject({ exported: 250, dropped: 200, queued: 0 });
  });

  it('waits as long as RESOURCE_EXHAUSTED with RetryInfo asks, and drops the batch when it gives no RetryInfo', async () => {
    receiver = await OtlpReceiver.start();
    receiver.script.push({ code: status.RESOURCE_EXHAUSTED, retryDelayMillis: 700 });
    startExporting(receiver.url);
    const started = Date.now();
    await endSpans(20, 'patient');
    await receiver.waitFor((spans) => spans.length === 20);
    expect(Date.now() - started).toBeGreaterThanOrEqual(650);

    receiver.script.push({ code: status.RESOURCE_EXHAUSTED });
    await endSpans(5, 'refused');
    await runtime.forceFlush(5000);
    expect(receiver.spans).toHaveLength(20);
    expect(exportStatistics()).toMatchObject({ exported: 20, failed: 5 });
  });

  it('drops a batch answered INVALID_ARGUMENT at once and says why', async () => {
    receiver = await OtlpReceiver.start();
    receiver.script.push({ code: status.INVALID_ARGUMENT });
    startExporting(receiver.url);
    await endSpans(30);
    await runtime.forceFlush(5000);
    expect(receiver.exportCalls).toBe(1);
    expect(exportStatistics()).toMatchObject({ exported: 0, failed: 30, retries: 0 });
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(logger.warnings.filter((w) => w.startsWith('Spans lost'))).toEqual([expect.stringMatching(/30 failed.*refused for good: gRPC INVALID_ARGUMENT/)]);
  });

  it('counts and logs spans a collector rejects in a partial success', async () => {
    receiver = await OtlpReceiver.start();
    receiver.script.push({ rejected: 3 });
    startExporting(receiver.url);
    await endSpans(10);
    await runtime.forceFlush(5000);
    expect(exportStatistics()).toMatchObject({ exported: 7, rejected: 3 });
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(logger.warnings.filter((w) => w.startsWith('Spans lost'))).toEqual([expect.stringMatching(/3 rejected by the collector.*partly rejected by the collector: spans too large/)]);
  });

  describe('over HTTP/protobuf', () => {
    let http: OtlpHttpReceiver;

    beforeEach(async () => {
      http = await OtlpHttpReceiver.start();
    });
    afterEach(() => http.stop());

    it('honours 429 with Retry-After, retries 503, and delivers every span once', async () => {
      http.script.push({ status: 429, headers: { 'retry-after': '1' } }, { status: 503 });
      startExporting(http.url, {}, 'http/protobuf');
      await endSpans(100);
      expect(await runtime.forceFlush(10_000)).toBe(true);
      expect(http.calls.length).toBeGreaterThanOrEqual(3);
      expect(http.calls[1] - http.calls[0]).toBeGreaterThanOrEqual(950);
      expect(unique(ids(http.spans))).toBe(100);
      expect(http.spans).toHaveLength(100);
    });

    it('gzips each body with compression: gzip, and retries the same spans compressed', async () => {
      http.script.push({ status: 503 });
      startExporting(http.url, { otlp: { endpoint: http.url, protocol: 'http/protobuf', compression: 'gzip', timeoutMillis: 1000, retry: { initialBackoffMillis: 100, maxBackoffMillis: 400 } } }, 'http/protobuf');
      await endSpans(200, 'zipped');
      expect(await runtime.forceFlush(10_000)).toBe(true);
      expect(http.bodies.length).toBeGreaterThanOrEqual(2);
      expect(http.bodies.map((body) => body.encoding)).toEqual(http.bodies.map(() => 'gzip'));
      // gzip's magic number, then a body far smaller than the spans it carries.
      expect(http.bodies.every(({ bytes }) => bytes[0] === 0x1f && bytes[1] === 0x8b)).toBe(true);
      expect(http.spans).toHaveLength(200);
      expect(unique(ids(http.spans))).toBe(200);
      expect(http.spans.map((span) => span.name).sort()).toEqual(Array.from({ length: 200 }, (_, i) => `zipped ${i}`).sort());
      expect(exportStatistics()).toMatchObject({ exported: 200, dropped: 0, failed: 0, queued: 0 });
    });

    it('drops a batch answered 400 at once', async () => {
      http.script.push({ status: 400, body: 'bad request body' });
      startExporting(http.url, {}, 'http/protobuf');
      await endSpans(10);
      await runtime.forceFlush(5000);
      expect(http.calls.length).toBe(1);
      expect(exportStatistics()).toMatchObject({ failed: 10, exported: 0 });
    });
  });

  it('retries within the shutdown timeout on SIGTERM during a blip, exporting every answered request', async () => {
    receiver = await OtlpReceiver.start();
    receiver.script.push({ code: status.UNAVAILABLE }, { code: status.UNAVAILABLE });
    const app = await startChildApp(`${ROOT}/build/fixtures/http-app.js`, {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_SERVICE_NAME: 'blip-at-shutdown',
      OTEL_BSP_SCHEDULE_DELAY: '60000',
      FIXTURE_SHUTDOWN_TIMEOUT: '4000',
    });
    try {
      const responses = await Promise.all(Array.from({ length: 20 }, (__, i) => fetch(`${app.url}/work/${i}`)));
      expect(responses.every((r) => r.status === 200)).toBe(true);
      const stopped = await app.stop('SIGTERM');
      expect(stopped.millis).toBeLessThan(4000 + 1500);
      expect(receiver.spans.filter((s) => s.kind === 'SERVER')).toHaveLength(20);
      expect(receiver.exportCalls).toBeGreaterThanOrEqual(3);
      expect(app.output()).not.toMatch(/not exported at shutdown/);
    } finally {
      await app.stop('SIGKILL');
    }
  });
});
