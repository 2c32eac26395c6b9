import { Logger } from '@nestjs/common';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { OtlpReceiver } from '../../test/support/otlp-receiver.js';
import { ROOT, runNode } from '../../test/support/child-app.js';
import { freePort } from '../../test/support/ports.js';
import type { TransportSpec } from './transport-spec.js';
import { WorkerTransport } from './worker-transport.js';
import { WarningLog } from '../../test/support/warning-log.js';

/** An `ExportTraceServiceRequest` of one span named `name`, written out by hand. */
function oneSpanRequest(name: string): Buffer {
  const field = (key: number, bytes: Buffer) => Buffer.concat([Buffer.from([key, bytes.length]), bytes]);
  const span = Buffer.concat([field(0x0a, Buffer.alloc(16, 0x11)), field(0x12, Buffer.alloc(8, 0x22)), field(0x2a, Buffer.from(name))]);
  return field(0x0a, field(0x12, field(0x12, span)));
}

/** Resolves once `condition` holds, checking every 10 ms. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

const grpcSpec = (url: string): TransportSpec => ({ protocol: 'grpc', url, headers: {}, compression: 'none' });

describe('WorkerTransport', () => {
  const receivers: OtlpReceiver[] = [];
  const transports: WorkerTransport[] = [];
  let log: WarningLog;

  beforeEach(() => {
    log = new WarningLog();
    Logger.overrideLogger(log);
  });

  afterEach(async () => {
    for (const transport of transports.splice(0)) transport.close();
    for (const receiver of receivers.splice(0)) await receiver.stop();
    Logger.overrideLogger(true);
  });

  async function receiver(mode: 'ok' | 'hang' = 'ok') {
    const started = await OtlpReceiver.start(mode);
    receivers.push(started);
    return started;
  }

  function transport(spec: TransportSpec, entry?: URL | null) {
    const made = entry === undefined ? new WorkerTransport(spec) : new WorkerTransport(spec, entry);
    transports.push(made);
    return made;
  }

  it('sends each body from its worker thread and answers with what the collector said', async () => {
    const collector = await receiver();
    const sender = transport(grpcSpec(collector.url));
    await expect(sender.send(oneSpanRequest('first'), 5000)).resolves.toEqual({ kind: 'accepted', rejected: 0 });
    await expect(sender.send(oneSpanRequest('second'), 5000)).resolves.toEqual({ kind: 'accepted', rejected: 0 });
    expect(collector.spans.map((span) => span.name)).toEqual(['first', 'second']);
    expect(log.warnings).toEqual([]);
  });

  it('sends the body bytes only, whatever the buffer around them holds', async () => {
    const collector = await receiver();
    const body = oneSpanRequest('inside');
    const pooled = Buffer.concat([Buffer.from('before'), body, Buffer.from('after')]);
    await transport(grpcSpec(collector.url)).send(pooled.subarray(6, 6 + body.length), 5000);
    expect(collector.rawExports[0].equals(body)).toBe(true);
  });

  it('sends a smaller body in a buffer the worker handed back without the bytes of the body before it', async () => {
    const collector = await receiver();
    const sender = transport(grpcSpec(collector.url));
    const long = oneSpanRequest('a name long enough to leave bytes behind');
    const short = oneSpanRequest('short');
    for (const body of [long, short, long, short]) await sender.send(body, 5000);
    expect(collector.rawExports.map((bytes) => bytes.equals(short))).toEqual([false, true, false, true]);
    expect(collector.spans.map((span) => span.name)).toEqual(['a name long enough to leave bytes behind', 'short', 'a name long enough to leave bytes behind', 'short']);
  });

  it('answers retryable when the collector is down, as the transport on the event loop does', async () => {
    const port = await freePort();
    const outcome = await transport(grpcSpec(`http://127.0.0.1:${port}`)).send(oneSpanRequest('lost'), 2000);
    expect(outcome).toMatchObject({ kind: 'retryable' });
  });

  it('sends from the event loop, and says so once, when the worker module is missing', async () => {
    const collector = await receiver();
    const sender = transport(grpcSpec(collector.url), null);
    await expect(sender.send(oneSpanRequest('a'), 5000)).resolves.toMatchObject({ kind: 'accepted' });
    await expect(sender.send(oneSpanRequest('b'), 5000)).resolves.toMatchObject({ kind: 'accepted' });
    expect(collector.spans).toHaveLength(2);
    expect(log.warnings).toHaveLength(1);
    expect(log.warnings[0]).toContain('sent from the event loop');
  });

  it('takes a worker that dies before it answers as unable to run: the call is retryable, the next one goes from the event loop', async () => {
    const collector = await receiver();
    const dir = mkdtempSync(join(tmpdir(), 'worker-entry-'));
    try {
      const entry = join(dir, 'broken-worker.mjs');
      writeFileSync(entry, 'throw new Error("this worker cannot load");\n');
      const sender = transport(grpcSpec(collector.url), pathToFileURL(entry));
      const first = await sender.send(oneSpanRequest('a'), 5000);
      expect(first).toMatchObject({ kind: 'retryable' });
      expect(first.kind === 'retryable' && first.reason).toContain('this worker cannot load');
      await expect(sender.send(oneSpanRequest('b'), 5000)).resolves.toMatchObject({ kind: 'accepted' });
      expect(collector.spans.map((span) => span.name)).toEqual(['b']);
      expect(log.warnings).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ends the calls under way and refuses new ones once closed', async () => {
    const collector = await receiver('hang');
    const sender = transport(grpcSpec(collector.url));
    const pending = sender.send(oneSpanRequest('hung'), 30_000);
    await until(() => collector.exportCalls === 1);
    sender.close();
    await expect(pending).resolves.toEqual({ kind: 'fatal', reason: 'the exporter is shut down' });
    await expect(sender.send(oneSpanRequest('late'), 5000)).resolves.toMatchObject({ kind: 'fatal' });
  });

  it('lets the process end once its calls are answered: an idle worker keeps nothing alive', async () => {
    const collector = await receiver();
    const script = [
      `const { WorkerTransport } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist/export/worker-transport.js')).href)});`,
      `const sender = new WorkerTransport({ protocol: 'grpc', url: process.argv[1], headers: {}, compression: 'none' });`,
      `const body = Buffer.from(process.argv[2], 'base64');`,
      `console.log((await sender.send(body, 5000)).kind);`,
    ].join('\n');
    const run = await runNode(['--input-type=module', '-e', script, collector.url, oneSpanRequest('child').toString('base64')], { cwd: ROOT });
    expect(run).toEqual({ code: 0, output: 'accepted\n' });
    expect(collector.spans.map((span) => span.name)).toEqual(['child']);
  });
});
