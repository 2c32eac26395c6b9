import * as grpc from '@grpc/grpc-js';
import { trace } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { startUnitTracing } from '../test/support/tracing.js';
import * as http2 from 'node:http2';
import { once } from 'node:events';
import { countSpans, SINK_WINDOW_BYTES, SpanSink } from './span-sink.js';

describe('the benchmark sink', () => {
  it('counts the spans of an encoded ExportTraceServiceRequest without decoding them', async () => {
    const tracing = startUnitTracing({ serviceName: 'sink' });
    try {
      const tracer = trace.getTracer('a');
      const other = trace.getTracer('b');
      for (let i = 0; i < 300; i++) tracer.startSpan(`span-${i}`, { attributes: { i, text: 'x'.repeat(i) } }).end();
      for (let i = 0; i < 7; i++) other.startSpan('other').end();
      const encoded = ProtobufTraceSerializer.serializeRequest([...tracing.recorder.spans]);
      expect(countSpans(Buffer.from(encoded as Uint8Array))).toBe(307);
      expect(countSpans(Buffer.alloc(0))).toBe(0);
    } finally {
      await tracing.stop();
    }
  });

  it('answers gRPC export calls, counts their spans and grants a Collector-sized window', async () => {
    const sink = await SpanSink.start();
    const client = new grpc.Client(`127.0.0.1:${sink.port}`, grpc.credentials.createInsecure());
    try {
      const tracing = startUnitTracing({ serviceName: 'sink' });
      for (let i = 0; i < 5000; i++) trace.getTracer('a').startSpan(`span-${i}`, { attributes: { text: 'x'.repeat(100) } }).end();
      const request = Buffer.from(ProtobufTraceSerializer.serializeRequest([...tracing.recorder.spans]) as Uint8Array);
      await tracing.stop();
      const raw = (buffer: Buffer) => buffer;
      const call = (path: string) =>
        new Promise<{ error: grpc.ServiceError | null; response?: Buffer }>((resolve) =>
          client.makeUnaryRequest(path, raw, raw, request, (error, response) => resolve({ error, response })),
        );
      const exported = await call('/opentelemetry.proto.collector.trace.v1.TraceService/Export');
      expect(exported.error).toBeNull();
      expect(exported.response?.length).toBe(0);
      expect(sink.received).toBe(5000);
      const unknown = await call('/opentelemetry.proto.collector.metrics.v1.MetricsService/Export');
      expect(unknown.error?.code).toBe(grpc.status.UNIMPLEMENTED);
      expect(sink.received).toBe(5000);

      const session = http2.connect(sink.url);
      await once(session, 'remoteSettings');
      expect(session.remoteSettings.initialWindowSize).toBe(SINK_WINDOW_BYTES);
      session.close();
    } finally {
      client.close();
      await sink.stop();
    }
  });
});
