import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';

/** Wire type of a length-delimited protobuf field. */
const LEN = 2;

const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

/**
 * The flow-control window the sink grants, per stream and per connection. The Collector's gRPC server (grpc-go)
 * starts at 64 KiB and, while a sender keeps filling it, doubles it by bandwidth-delay estimation up to 16 MiB;
 * a Node gRPC server keeps 64 KiB for good. Under full load the app's event loop answers each window update only
 * on its next turn, so at 64 KiB a 2048-span export (about 570 KB) took nine turns and 150-450 ms, and the
 * exports fell behind the spans: a limit of the receiver, not of the sender the benchmark measures.
 */
export const SINK_WINDOW_BYTES = 16 * 1024 * 1024;

/** gRPC status codes the sink answers with. */
const OK = 0;
const UNIMPLEMENTED = 12;

/** An empty `ExportTraceServiceResponse`, framed: not compressed, length 0. */
const EMPTY_RESPONSE = Buffer.from([0, 0, 0, 0, 0]);

/**
 * An OTLP/gRPC trace endpoint on 127.0.0.1 that only counts spans, on `node:http2` so that it can grant the
 * window a Collector grows to ({@link SINK_WINDOW_BYTES}). It walks the protobuf framing of
 * `ExportTraceServiceRequest` (resource_spans = 1, scope_spans = 2, spans = 2) without decoding the spans, so
 * that the sink costs little CPU next to the load generator.
 */
export class SpanSink {
  received = 0;

  private constructor(
    private readonly server: http2.Http2Server,
    private readonly sessions: Set<http2.ServerHttp2Session>,
    readonly port: number,
  ) {}

  static async start(): Promise<SpanSink> {
    const server = http2.createServer({ settings: { initialWindowSize: SINK_WINDOW_BYTES } });
    let sink: SpanSink | undefined;
    const sessions = new Set<http2.ServerHttp2Session>();
    server.on('session', (session) => {
      sessions.add(session);
      session.on('close', () => sessions.delete(session));
      session.on('error', () => {});
      session.setLocalWindowSize(SINK_WINDOW_BYTES);
    });
    server.on('stream', (stream, headers) => {
      stream.on('error', () => {});
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (headers[http2.constants.HTTP2_HEADER_PATH] !== EXPORT_PATH) return answer(stream, UNIMPLEMENTED, undefined);
        const body = Buffer.concat(chunks);
        // The gRPC message prefix: a compression flag and a four-byte length.
        if (sink && body.length >= 5) sink.received += countSpans(body.subarray(5, 5 + body.readUInt32BE(1)));
        answer(stream, OK, EMPTY_RESPONSE);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    sink = new SpanSink(server, sessions, (server.address() as AddressInfo).port);
    return sink;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Stops listening and closes the connections left, once their calls are answered. */
  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const session of this.sessions) session.close();
    await closed;
  }
}

/** A gRPC answer: the message if any, then `grpc-status` in the trailers. */
function answer(stream: http2.ServerHttp2Stream, status: number, message: Buffer | undefined): void {
  if (stream.destroyed) return;
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': String(status) }));
  stream.end(message);
}

/** Spans in an encoded ExportTraceServiceRequest. */
export function countSpans(request: Buffer): number {
  let spans = 0;
  for (const resourceSpans of fields(request, 0, request.length, 1)) {
    for (const scopeSpans of fields(request, resourceSpans[0], resourceSpans[1], 2)) {
      for (const _ of fields(request, scopeSpans[0], scopeSpans[1], 2)) spans++;
    }
  }
  return spans;
}

/** The [start, end) ranges of the length-delimited fields numbered `wanted` between `start` and `end`. */
function* fields(buffer: Buffer, start: number, end: number, wanted: number): Generator<[number, number]> {
  let at = start;
  while (at < end) {
    const [key, afterKey] = varint(buffer, at);
    const field = Math.floor(key / 8);
    const type = key % 8;
    at = afterKey;
    if (type === LEN) {
      const [length, afterLength] = varint(buffer, at);
      if (field === wanted) yield [afterLength, afterLength + length];
      at = afterLength + length;
    } else if (type === 0) {
      at = varint(buffer, at)[1];
    } else if (type === 1) {
      at += 8;
    } else if (type === 5) {
      at += 4;
    } else {
      throw new Error(`unsupported protobuf wire type ${type}`);
    }
  }
}

function varint(buffer: Buffer, start: number): [number, number] {
  let value = 0;
  let shift = 0;
  let at = start;
  for (;;) {
    const byte = buffer[at++];
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return [value, at];
    shift += 7;
  }
}
