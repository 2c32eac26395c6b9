import * as http2 from 'node:http2';
import { gunzipSync } from 'node:zlib';
import { TRACER_NAME, TRACER_VERSION } from '../otel.constants.js';
import type { OtlpCompression } from '../otel.options.js';
import { gzipBody } from './body-compression.js';
import { readPartialSuccess, readRetryDelay, type ExportOutcome, type OtlpTransport } from './export-outcome.js';

const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

/** gRPC status codes, numbered as the gRPC specification numbers them. */
const GRPC_STATUS_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;

/** The number of a gRPC status code. */
function code(name: (typeof GRPC_STATUS_NAMES)[number]): number {
  return GRPC_STATUS_NAMES.indexOf(name);
}

const OK = code('OK');
const RESOURCE_EXHAUSTED = code('RESOURCE_EXHAUSTED');

/**
 * Codes the OTLP specification lets an exporter retry. RESOURCE_EXHAUSTED only counts when the collector says when
 * to come back (RetryInfo).
 */
const RETRYABLE = new Set((['CANCELLED', 'DEADLINE_EXCEEDED', 'ABORTED', 'OUT_OF_RANGE', 'UNAVAILABLE', 'DATA_LOSS'] as const).map(code));

/** gRPC's mapping of an HTTP status that came without a gRPC status (a proxy or load balancer answering). */
const CODE_OF_HTTP_STATUS = new Map([
  [400, code('INTERNAL')],
  [401, code('UNAUTHENTICATED')],
  [403, code('PERMISSION_DENIED')],
  [404, code('UNIMPLEMENTED')],
  [429, code('UNAVAILABLE')],
  [502, code('UNAVAILABLE')],
  [503, code('UNAVAILABLE')],
  [504, code('UNAVAILABLE')],
]);

/** The length prefix of a gRPC message: one byte "compressed or not", four bytes of length, big-endian. */
function messagePrefix(length: number, compressed: boolean): Buffer {
  const prefix = Buffer.allocUnsafe(5);
  prefix[0] = compressed ? 1 : 0;
  prefix.writeUInt32BE(length, 1);
  return prefix;
}

/** The most of an export's response kept: a partial success with its message is far smaller. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/** The longest delay a Node timer takes; a longer one would fire at once. */
const MAX_TIMER_MILLIS = 2 ** 31 - 1;

/** `grpc-timeout`: at most eight digits, so long deadlines are given in seconds. */
function grpcTimeout(timeoutMillis: number): string {
  const millis = Math.max(1, Math.ceil(timeoutMillis));
  return millis <= 99_999_999 ? `${millis}m` : `${Math.min(99_999_999, Math.ceil(millis / 1000))}S`;
}

/** One HTTP/2 connection to the collector and the export calls under way on it. */
interface Connection {
  readonly session: http2.ClientHttp2Session;
  calls: number;
}

/**
 * OTLP over gRPC, spoken directly over `node:http2`: one unary call per export, its body the bytes the pipeline
 * encoded (no serializer, no copy). A gRPC client library would keep a channel, its call objects and a copy of
 * each message for the length of every round trip; under steady load those outlive young-generation collections
 * and cost the app full collections and tens of megabytes. Connections are made on demand: after the collector
 * goes away the next export (paced by the pipeline's backoff) connects again, so a restart holds spans no longer
 * than one backoff. While calls are under way the connection keeps the process alive; idle, it does not.
 * With `gzip`, each message is compressed off the event loop ({@link gzipBody}) and sent with `grpc-encoding`.
 */
export class GrpcTransport implements OtlpTransport {
  private readonly origin: string;
  private readonly requestHeaders: http2.OutgoingHttpHeaders;
  private connection?: Connection;
  private closed = false;

  constructor(
    readonly url: string,
    headers: Record<string, string>,
    private readonly compression: OtlpCompression = 'none',
  ) {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    // The endpoint's path, if any, is not the call's: gRPC names the method in `:path`.
    this.origin = `${secure ? 'https:' : 'http:'}//${target.host}`;
    const own: http2.OutgoingHttpHeaders = {};
    for (const [key, value] of Object.entries(headers)) own[key.toLowerCase()] = value;
    this.requestHeaders = {
      ...own,
      [http2.constants.HTTP2_HEADER_METHOD]: 'POST',
      [http2.constants.HTTP2_HEADER_PATH]: EXPORT_PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
      'user-agent': `${TRACER_NAME}/${TRACER_VERSION}`,
      ...(compression === 'gzip' ? { 'grpc-encoding': 'gzip' } : {}),
    };
  }

  async send(body: Buffer, timeoutMillis: number): Promise<ExportOutcome> {
    const compressed = this.compression === 'gzip';
    // Compressing can only fail for want of memory; the pipeline retries a rejection like a failed call.
    return this.call(compressed ? await gzipBody(body) : body, compressed, timeoutMillis);
  }

  private call(message: Buffer, compressed: boolean, timeoutMillis: number): Promise<ExportOutcome> {
    if (this.closed) return Promise.resolve({ kind: 'fatal', reason: 'the exporter is shut down' });
    return new Promise((resolve) => {
      const connection = this.connect();
      let stream: http2.ClientHttp2Stream;
      try {
        stream = connection.session.request({ ...this.requestHeaders, 'grpc-timeout': grpcTimeout(timeoutMillis) });
      } catch (error) {
        // Headers Node refuses (a configuration error) fail every call alike; a session that just closed does not.
        const code = (error as { code?: string }).code ?? '';
        const reason = `gRPC request not sent: ${error instanceof Error ? error.message : String(error)}`;
        resolve(code.startsWith('ERR_INVALID') ? { kind: 'fatal', reason } : { kind: 'retryable', reason });
        return;
      }
      this.track(connection, 1);
      const call = new ExportCall(timeoutMillis);
      const deadline = setTimeout(() => {
        call.timedOut = true;
        stream.close(http2.constants.NGHTTP2_CANCEL);
      }, Math.min(timeoutMillis, MAX_TIMER_MILLIS)).unref();
      stream.on('response', (responseHeaders) => call.readHeaders(responseHeaders));
      stream.on('trailers', (trailers) => call.readHeaders(trailers));
      stream.on('data', (chunk: Buffer) => call.readData(chunk));
      stream.on('error', (error: Error) => (call.error = error));
      stream.on('close', () => {
        clearTimeout(deadline);
        this.track(connection, -1);
        resolve(call.outcome(stream.rstCode));
      });
      stream.write(messagePrefix(message.length, compressed));
      stream.end(message);
    });
  }

  /** Stops at once: calls still under way end as failed (the pipeline has stopped waiting for them). */
  close(): void {
    this.closed = true;
    this.connection?.session.destroy();
    this.connection = undefined;
  }

  private connect(): Connection {
    const current = this.connection;
    if (current && !current.session.closed && !current.session.destroyed) return current;
    const session = http2.connect(this.origin);
    const connection: Connection = { session, calls: 0 };
    // A failed or broken connection fails its calls, which report it; nothing else listens here.
    session.on('error', () => {});
    const forget = () => {
      if (this.connection === connection) this.connection = undefined;
    };
    session.on('goaway', forget);
    session.on('close', forget);
    session.unref();
    this.connection = connection;
    return connection;
  }

  private track(connection: Connection, change: 1 | -1): void {
    connection.calls += change;
    if (connection.session.destroyed) return;
    if (change === 1 && connection.calls === 1) connection.session.ref();
    if (change === -1 && connection.calls === 0) connection.session.unref();
  }
}

/** What one export call has received so far, and its outcome once the stream closed. */
class ExportCall {
  status?: number;
  message?: string;
  details?: Buffer;
  httpStatus?: number;
  /** The response's `grpc-encoding`: a server may compress its answer as the request was. */
  encoding?: string;
  error?: Error;
  timedOut = false;
  private readonly chunks: Buffer[] = [];
  private received = 0;

  constructor(private readonly timeoutMillis: number) {}

  /** The response headers, the trailers, or both at once (a trailers-only answer). */
  readHeaders(headers: http2.IncomingHttpHeaders): void {
    const status = headers[http2.constants.HTTP2_HEADER_STATUS];
    if (typeof status === 'number') this.httpStatus = status;
    const encoding = headers['grpc-encoding'];
    if (typeof encoding === 'string') this.encoding = encoding;
    const grpcStatus = headers['grpc-status'];
    if (typeof grpcStatus === 'string' && /^\d+$/.test(grpcStatus)) this.status = Number(grpcStatus);
    const message = headers['grpc-message'];
    if (typeof message === 'string' && message.length > 0) this.message = decodeGrpcMessage(message);
    const details = headers['grpc-status-details-bin'];
    if (typeof details === 'string') this.details = Buffer.from(details, 'base64');
  }

  /** Keeps at most {@link MAX_RESPONSE_BYTES}: a response is a few bytes, and a server that sends more is ignored past it. */
  readData(chunk: Buffer): void {
    if (this.received >= MAX_RESPONSE_BYTES) return;
    this.received += chunk.length;
    this.chunks.push(chunk);
  }

  outcome(rstCode: number | undefined): ExportOutcome {
    if (this.timedOut) return { kind: 'retryable', reason: `gRPC DEADLINE_EXCEEDED: no answer within ${this.timeoutMillis} ms` };
    if (this.status === OK) return { kind: 'accepted', ...readPartialSuccess(this.responseMessage()) };
    if (this.status !== undefined) return outcomeOfStatus(this.status, this.message, this.details);
    // No gRPC status: the connection failed or broke, the stream was reset, or something else answered.
    if (this.error) return { kind: 'retryable', reason: `gRPC UNAVAILABLE: ${this.error.message}` };
    if (this.httpStatus !== undefined && this.httpStatus !== 200) {
      return outcomeOfStatus(CODE_OF_HTTP_STATUS.get(this.httpStatus) ?? code('UNKNOWN'), `HTTP ${this.httpStatus} without a gRPC status`, undefined);
    }
    if (rstCode === http2.constants.NGHTTP2_REFUSED_STREAM) return { kind: 'retryable', reason: 'gRPC UNAVAILABLE: the collector refused the stream' };
    return { kind: 'retryable', reason: `gRPC UNAVAILABLE: the call ended without a status (HTTP/2 code ${rstCode ?? 0})` };
  }

  /** The `ExportTraceServiceResponse` without its length prefix; undefined if absent or unreadable. */
  private responseMessage(): Uint8Array | undefined {
    const bytes = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    if (bytes.length < 5) return undefined;
    const message = bytes.subarray(5, 5 + bytes.readUInt32BE(1));
    if (bytes[0] === 0) return message;
    if (this.encoding !== 'gzip') return undefined;
    try {
      // A response is a few bytes: inflated on the spot, and never past the size kept of a plain one.
      return gunzipSync(message, { maxOutputLength: MAX_RESPONSE_BYTES });
    } catch {
      return undefined;
    }
  }
}

function outcomeOfStatus(code: number, message: string | undefined, details: Buffer | undefined): ExportOutcome {
  const reason = `gRPC ${GRPC_STATUS_NAMES[code] ?? code}${message ? `: ${message}` : ''}`;
  const retryAfterMillis = readRetryDelay(details);
  if (code === RESOURCE_EXHAUSTED) {
    return retryAfterMillis === undefined ? { kind: 'fatal', reason } : { kind: 'retryable', reason, retryAfterMillis };
  }
  if (RETRYABLE.has(code)) return { kind: 'retryable', reason, retryAfterMillis };
  return { kind: 'fatal', reason };
}

/** `grpc-message` is percent-encoded UTF-8; a malformed one is shown as it came. */
function decodeGrpcMessage(message: string): string {
  try {
    return decodeURIComponent(message);
  } catch {
    return message;
  }
}
