import * as grpc from '@grpc/grpc-js';

/** Wire type of a length-delimited protobuf field. */
const LEN = 2;

/**
 * An OTLP/gRPC trace endpoint on 127.0.0.1 that only counts spans. It walks the protobuf framing of
 * `ExportTraceServiceRequest` (resource_spans = 1, scope_spans = 2, spans = 2) without decoding the spans, so
 * that the sink costs little CPU next to the load generator.
 */
export class SpanSink {
  received = 0;

  private constructor(
    private readonly server: grpc.Server,
    readonly port: number,
  ) {}

  static async start(): Promise<SpanSink> {
    const server = new grpc.Server();
    let sink: SpanSink | undefined;
    const raw = (buffer: Buffer) => buffer;
    server.addService(
      {
        Export: {
          path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
          requestStream: false,
          responseStream: false,
          requestSerialize: raw,
          requestDeserialize: raw,
          responseSerialize: raw,
          responseDeserialize: raw,
        },
      },
      {
        Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
          if (sink) sink.received += countSpans(call.request);
          callback(null, Buffer.alloc(0));
        },
      },
    );
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    sink = new SpanSink(server, port);
    return sink;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
  }
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
