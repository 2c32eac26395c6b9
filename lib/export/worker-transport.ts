import { Logger } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { LOGGER_CONTEXT } from '../otel.constants.js';
import type { ExportOutcome, OtlpTransport } from './export-outcome.js';
import type { ExportReply, ExportRequest } from './transport-worker.js';
import { createTransport, type TransportSpec } from './transport-spec.js';

const logger = new Logger(LOGGER_CONTEXT);

/** Buffers kept for reuse: as many as the pipeline has exports under way at once. */
const MAX_SPARE_BUFFERS = 3;

/**
 * The worker's entry: the compiled module beside this one. Run from the TypeScript sources (the tests), this
 * module has none beside it, and takes the build's.
 */
function defaultWorkerEntry(): URL | null {
  for (const candidate of ['./transport-worker.js', '../../dist/export/transport-worker.js']) {
    const url = new URL(candidate, import.meta.url);
    if (existsSync(fileURLToPath(url))) return url;
  }
  return null;
}

/**
 * Exports (OTLP, or Zipkin's JSON) sent from a worker thread of their own. The network side of an export (HTTP/2 or HTTP streams, sockets,
 * timers) runs in another V8 isolate, so it never shares Node's stream and socket code with the app's requests.
 * In the app's isolate that code is compiled for the app's HTTP server objects alone; a single export from the
 * event loop made it see HTTP/2 streams too, V8 recompiled it for both, and every request paid about 3% more
 * from then on (`bench/FINDINGS.md`). The app's thread keeps encoding, batching and retries; it posts each body
 * (a copy, handed over without a second one) and gets the outcome back with the buffer, for the next body. The
 * worker starts at the first export and keeps the process alive only while calls are under way. Where it cannot
 * start (its module missing from a bundle, or it fails as it loads), the transport sends from the event loop
 * instead and says so once.
 */
export class WorkerTransport implements OtlpTransport {
  readonly url: string;
  private worker?: Worker;
  /** Set once the worker has answered: a worker that dies before that is taken as unable to run here. */
  private workerAnswered = false;
  private fallback?: OtlpTransport;
  private readonly pending = new Map<number, (outcome: ExportOutcome) => void>();
  /** Buffers the worker handed back, reused for the next bodies: steady exports allocate none. */
  private readonly spareBuffers: ArrayBuffer[] = [];
  private nextId = 0;
  private closed = false;

  constructor(
    private readonly spec: TransportSpec,
    /** The worker's module; `null` where there is none (the transport then sends from the event loop). */
    private readonly workerEntry: URL | null = defaultWorkerEntry(),
  ) {
    this.url = spec.url;
  }

  send(body: Buffer, timeoutMillis: number): Promise<ExportOutcome> {
    if (this.closed) return Promise.resolve({ kind: 'fatal', reason: 'the exporter is shut down' });
    const worker = this.fallback ? undefined : (this.worker ?? this.startWorker());
    if (!worker) return this.inThread().send(body, timeoutMillis);
    const copy = new Uint8Array(this.spareBuffer(body.length), 0, body.length);
    copy.set(body);
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      if (this.pending.size === 1) worker.ref();
      worker.postMessage({ id, body: copy, timeoutMillis } satisfies ExportRequest, [copy.buffer]);
    });
  }

  /** Stops at once: the worker ends, and calls still under way end as failed (the pipeline stopped waiting). */
  close(): void {
    this.closed = true;
    this.fallback?.close();
    const worker = this.worker;
    this.worker = undefined;
    if (worker) void worker.terminate();
    this.settleAll({ kind: 'fatal', reason: 'the exporter is shut down' });
  }

  private startWorker(): Worker | undefined {
    if (!this.workerEntry) return this.giveUpOnWorker('its module is not where the library is installed');
    let worker: Worker;
    try {
      // No execArgv: the app's preloads (this library's among them) must not start a second SDK in the worker.
      // The worker allocates a few objects an export; a young generation of V8's size would only hold memory.
      worker = new Worker(this.workerEntry, { workerData: this.spec, execArgv: [], resourceLimits: { maxYoungGenerationSizeMb: 1 } });
    } catch (error) {
      return this.giveUpOnWorker(error instanceof Error ? error.message : String(error));
    }
    worker.unref();
    let failure: string | undefined;
    worker.on('message', (reply: ExportReply) => this.answer(reply));
    worker.on('error', (error: Error) => (failure = error.message));
    worker.on('exit', (code) => this.workerExited(worker, failure ?? `exit code ${code}`));
    this.worker = worker;
    return worker;
  }

  /** A buffer of at least `size` bytes: one the worker handed back, or a new one. */
  private spareBuffer(size: number): ArrayBuffer {
    const index = this.spareBuffers.findIndex((buffer) => buffer.byteLength >= size);
    if (index === -1) return new ArrayBuffer(size);
    const [buffer] = this.spareBuffers.splice(index, 1);
    return buffer;
  }

  private answer(reply: ExportReply): void {
    this.workerAnswered = true;
    if (this.spareBuffers.length < MAX_SPARE_BUFFERS) this.spareBuffers.push(reply.buffer);
    const resolve = this.pending.get(reply.id);
    if (!resolve) return;
    this.pending.delete(reply.id);
    resolve(reply.outcome);
    if (this.pending.size === 0) this.worker?.unref();
  }

  /** Calls under way are retried by the pipeline: through a new worker, or from the event loop if none can run. */
  private workerExited(worker: Worker, reason: string): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    if (!this.workerAnswered && !this.closed) this.giveUpOnWorker(reason);
    this.settleAll({ kind: 'retryable', reason: `the export worker stopped: ${reason}` });
  }

  private giveUpOnWorker(reason: string): undefined {
    const exports = this.spec.protocol === 'zipkin' ? 'Zipkin exports' : 'OTLP exports';
    logger.warn(`${exports} are sent from the event loop: the export worker cannot run (${reason}).`);
    this.inThread();
    return undefined;
  }

  private inThread(): OtlpTransport {
    this.fallback ??= createTransport(this.spec);
    return this.fallback;
  }

  private settleAll(outcome: ExportOutcome): void {
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const resolve of waiting) resolve(outcome);
  }
}
