import * as grpc from '@grpc/grpc-js';
import { readPartialSuccess, readRetryDelay, type ExportOutcome, type OtlpTransport } from './export-outcome.js';

const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const passThrough = (bytes: Buffer): Buffer => bytes;

/**
 * gRPC status codes the OTLP specification lets an exporter retry. RESOURCE_EXHAUSTED only counts when the
 * collector says when to come back (RetryInfo); otherwise it is final.
 */
const RETRYABLE = new Set([
  grpc.status.CANCELLED,
  grpc.status.DEADLINE_EXCEEDED,
  grpc.status.ABORTED,
  grpc.status.OUT_OF_RANGE,
  grpc.status.UNAVAILABLE,
  grpc.status.DATA_LOSS,
]);

/**
 * OTLP over gRPC with `@grpc/grpc-js`, sending the bytes the pipeline encoded as they are (no serializer, no
 * copy). The channel reconnects within a few seconds of a collector coming back, rather than grpc-js's default of
 * up to two minutes, so a restart does not hold spans longer than it must.
 */
export class GrpcTransport implements OtlpTransport {
  private readonly client: grpc.Client;
  private readonly metadata = new grpc.Metadata();

  constructor(
    readonly url: string,
    headers: Record<string, string>,
  ) {
    const target = new URL(url);
    const credentials = target.protocol === 'https:' ? grpc.credentials.createSsl() : grpc.credentials.createInsecure();
    const port = target.port || (target.protocol === 'https:' ? '443' : '80');
    this.client = new grpc.Client(`${target.hostname}:${port}`, credentials, {
      'grpc.initial_reconnect_backoff_ms': 500,
      'grpc.max_reconnect_backoff_ms': 5000,
    });
    for (const [key, value] of Object.entries(headers)) this.metadata.set(key, value);
  }

  send(body: Buffer, timeoutMillis: number): Promise<ExportOutcome> {
    return new Promise((resolve) => {
      this.client.makeUnaryRequest(
        EXPORT_PATH,
        passThrough,
        passThrough,
        body,
        this.metadata.clone(),
        { deadline: Date.now() + timeoutMillis },
        (error: grpc.ServiceError | null, response?: Buffer) => {
          if (!error) return resolve({ kind: 'accepted', ...readPartialSuccess(response) });
          resolve(outcomeOf(error));
        },
      );
    });
  }

  close(): void {
    this.client.close();
  }
}

function outcomeOf(error: grpc.ServiceError): ExportOutcome {
  const reason = `gRPC ${grpc.status[error.code] ?? error.code}${error.details ? `: ${error.details}` : ''}`;
  const details = error.metadata?.get('grpc-status-details-bin')[0];
  const retryAfterMillis = readRetryDelay(Buffer.isBuffer(details) ? details : undefined);
  if (error.code === grpc.status.RESOURCE_EXHAUSTED) {
    return retryAfterMillis === undefined ? { kind: 'fatal', reason } : { kind: 'retryable', reason, retryAfterMillis };
  }
  if (RETRYABLE.has(error.code)) return { kind: 'retryable', reason, retryAfterMillis };
  return { kind: 'fatal', reason };
}
