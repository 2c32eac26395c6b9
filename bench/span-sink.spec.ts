import { trace } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { startUnitTracing } from '../test/support/tracing.js';
import { countSpans } from './span-sink.js';

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
});
