/**
 * The entry of the export worker ({@link WorkerTransport}): it makes the transport its `workerData` describes and
 * sends each body the app's thread posts, answering with the outcome.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { ExportOutcome } from './export-outcome.js';
import { createTransport, type TransportSpec } from './transport-spec.js';

/** A body to send, as the app's thread posts it. */
export interface ExportRequest {
  readonly id: number;
  readonly body: Uint8Array;
  readonly timeoutMillis: number;
}

/** The outcome of the request with the same id, and the request's buffer handed back for the next body. */
export interface ExportReply {
  readonly id: number;
  readonly outcome: ExportOutcome;
  readonly buffer: ArrayBuffer;
}

function serve(port: MessagePort, spec: TransportSpec): void {
  const transport = createTransport(spec);
  port.on('message', (request: ExportRequest) => {
    const body = Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength);
    // The call is over once its outcome is known: the buffer goes back, so bodies are not left here for this
    // thread's garbage collector, which the little it allocates would run too seldom.
    const reply = (outcome: ExportOutcome) => {
      const buffer = request.body.buffer as ArrayBuffer;
      port.postMessage({ id: request.id, outcome, buffer } satisfies ExportReply, [buffer]);
    };
    transport.send(body, request.timeoutMillis).then(reply, (error: unknown) => {
      reply({ kind: 'retryable', reason: error instanceof Error ? error.message : String(error) });
    });
  });
}

if (parentPort) serve(parentPort, workerData as TransportSpec);
