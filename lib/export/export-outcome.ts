/** How one export call ended, as the pipeline needs to know it. */
export type ExportOutcome =
  /** Accepted; `rejected` spans of it were refused by the collector (OTLP partial success), with its message. */
  | { readonly kind: 'accepted'; readonly rejected: number; readonly message?: string }
  /** Worth sending again (the collector is away, overloaded or restarting), after `retryAfterMillis` if it said. */
  | { readonly kind: 'retryable'; readonly reason: string; readonly retryAfterMillis?: number }
  /** Refused for good (a malformed or unauthorised request): the batch is dropped. */
  | { readonly kind: 'fatal'; readonly reason: string };

/**
 * Sends one encoded export body to a collector: an OTLP `ExportTraceServiceRequest`, or a Zipkin JSON array (whose
 * 2xx answer carries no partial success, so `rejected` reads 0).
 */
export interface OtlpTransport {
  /** Where the spans go, for messages. */
  readonly url: string;
  send(body: Buffer, timeoutMillis: number): Promise<ExportOutcome>;
  close(): void;
}

/**
 * Reads an `ExportTraceServiceResponse`: `partial_success` (1) holds `rejected_spans` (1) and `error_message`
 * (2). An empty response is a full success.
 */
export function readPartialSuccess(response: Uint8Array | undefined): { rejected: number; message?: string } {
  if (!response || response.length === 0) return { rejected: 0 };
  const partial = readFields(response).get(1)?.[0];
  if (!(partial instanceof Uint8Array)) return { rejected: 0 };
  const fields = readFields(partial);
  const rejected = Number(fields.get(1)?.[0] ?? 0);
  const message = fields.get(2)?.[0];
  return { rejected, message: message instanceof Uint8Array && message.length > 0 ? Buffer.from(message).toString('utf8') : undefined };
}

/**
 * The delay a `google.rpc.Status` (gRPC's `grpc-status-details-bin` trailer) asks for through a
 * `google.rpc.RetryInfo` detail, in milliseconds; undefined when it carries none.
 */
export function readRetryDelay(statusDetails: Uint8Array | undefined): number | undefined {
  if (!statusDetails) return undefined;
  for (const detail of readFields(statusDetails).get(3) ?? []) {
    if (!(detail instanceof Uint8Array)) continue;
    const any = readFields(detail);
    const typeUrl = any.get(1)?.[0];
    const value = any.get(2)?.[0];
    if (!(typeUrl instanceof Uint8Array) || !(value instanceof Uint8Array)) continue;
    if (!Buffer.from(typeUrl).toString('utf8').endsWith('google.rpc.RetryInfo')) continue;
    const duration = readFields(value).get(1)?.[0];
    if (!(duration instanceof Uint8Array)) return 0;
    const parts = readFields(duration);
    return Number(parts.get(1)?.[0] ?? 0) * 1000 + Math.round(Number(parts.get(2)?.[0] ?? 0) / 1e6);
  }
  return undefined;
}

/** A minimal protobuf reader: field number to its values (numbers for varints, bytes for length-delimited). */
function readFields(bytes: Uint8Array): Map<number, (number | Uint8Array)[]> {
  const fields = new Map<number, (number | Uint8Array)[]>();
  let at = 0;
  const varint = (): number => {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (at >= bytes.length) throw new RangeError('truncated varint');
      const byte = bytes[at++];
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
  };
  try {
    while (at < bytes.length) {
      const key = varint();
      const field = Math.floor(key / 8);
      const type = key & 7;
      let value: number | Uint8Array;
      if (type === 0) value = varint();
      else if (type === 2) {
        const length = varint();
        value = bytes.subarray(at, at + length);
        at += length;
      } else if (type === 1 || type === 5) {
        // fixed64 and fixed32 carry nothing these messages need.
        at += type === 1 ? 8 : 4;
        value = 0;
      } else break;
      const list = fields.get(field) ?? [];
      list.push(value);
      fields.set(field, list);
    }
  } catch {
    // A malformed answer reads as what could be read; the export itself succeeded or failed by its status.
  }
  return fields;
}
