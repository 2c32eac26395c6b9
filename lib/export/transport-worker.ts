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

/** The outcome of the request with the same id. */
export interface ExportReply {
  readonly id: number;
  readonly outcome: ExportOutcome;
}

function serve(port: MessagePort, spec: TransportSpec): void {
  const transport = createTransport(spec);
  port.on('message', (request: ExportRequest) => {
    const body = Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength);
    transport.send(body, request.timeoutMillis).then(
      (outcome) => port.postMessage({ id: request.id, outcome } satisfies ExportReply),
      (error: unknown) => {
        const reason = error instanceof Error ? error.message : String(error);
        port.postMessage({ id: request.id, outcome: { kind: 'retryable', reason } } satisfies ExportReply);
      },
    );
  });
}

if (parentPort) serve(parentPort, workerData as TransportSpec);
