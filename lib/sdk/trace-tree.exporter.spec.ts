import { SpanKind, SpanStatusCode, trace, context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import { startUnitTracing, type UnitTracing } from '../../test/support/tracing.js';
import { TraceTreeExporter } from './trace-tree.exporter.js';

describe('TraceTreeExporter', () => {
  let tracing: UnitTracing;
  const exportAll = (exporter: TraceTreeExporter) =>
    new Promise<void>((resolve) => exporter.export([...tracing.recorder.spans], () => resolve()));

  beforeAll(() => {
    tracing = startUnitTracing({ serviceName: 'portal' });
  });
  afterAll(() => tracing.stop());
  beforeEach(() => tracing.recorder.reset());

  it('prints a trace as a tree with kinds, durations, a waterfall and statuses, once its local root ended', async () => {
    const tracer = trace.getTracer('t');
    tracer.startActiveSpan('GET /matches/:id', { kind: SpanKind.SERVER, attributes: { 'http.response.status_code': 502 } }, (server) => {
      tracer.startActiveSpan('MatchesController.find', (handler) => {
        tracer.startSpan('POST', { kind: SpanKind.CLIENT }).end();
        const failing = tracer.startSpan('score.skills');
        failing.setStatus({ code: SpanStatusCode.ERROR, message: 'index down' });
        failing.end();
        handler.end();
      });
      server.end();
    });
    const output: string[] = [];
    await exportAll(new TraceTreeExporter({ write: (text) => output.push(text), colors: false }));

    expect(output).toHaveLength(1);
    const lines = output[0].trimEnd().split('\n');
    expect(lines[0]).toMatch(/^trace [0-9a-f]{32} portal$/);
    const shapes = lines.slice(1).map((line) => line.replace(/\s+[\d.]+ ms\s+[ █]+/, ' <time> ').replace(/\s{2,}/g, ' ').trim());
    expect(shapes).toEqual([
      'GET /matches/:id SERVER <time> 502',
      '└─ MatchesController.find INTERNAL <time>',
      '├─ POST CLIENT <time>',
      '└─ score.skills INTERNAL <time> ERROR index down',
    ]);
    expect(lines[3]).toMatch(/^ {2}   ├─ POST/);
  });

  it('prints the part of a trace that continued a remote parent, and what never found its root at shutdown', async () => {
    const remote = propagation.extract(ROOT_CONTEXT, { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' });
    const tracer = trace.getTracer('t');
    tracer.startSpan('POST /scores', { kind: SpanKind.SERVER }, remote).end();
    const outer = tracer.startSpan('never-ends');
    tracer.startSpan('orphan', {}, trace.setSpan(context.active(), outer)).end();
    const output: string[] = [];
    const exporter = new TraceTreeExporter({ write: (text) => output.push(text), colors: false });
    await exportAll(exporter);
    expect(output.map((o) => o.split('\n')[0])).toEqual(['trace 4bf92f3577b34da6a3ce929d0e0e4736 portal']);
    await exporter.shutdown();
    expect(output[1].split('\n').slice(0, 2)).toEqual([expect.stringMatching(/ portal \(ended after its parent\)$/), expect.stringContaining('orphan')]);
  });

  it('prints a span that ends after its local root at once, as a late part of that trace', async () => {
    const tracer = trace.getTracer('t');
    const output: string[] = [];
    const exporter = new TraceTreeExporter({ write: (text) => output.push(text), colors: false });
    const root = tracer.startSpan('POST /scores');
    const straggler = tracer.startSpan('score.location', {}, trace.setSpan(context.active(), root));
    root.end();
    await exportAll(exporter);
    tracing.recorder.reset();
    straggler.end();
    await exportAll(exporter);
    expect(output.map((o) => o.split('\n')[0].replace(/[0-9a-f]{32}/, 'ID'))).toEqual(['trace ID portal', 'trace ID portal (ended after its parent)']);
  });

  it('keeps a bounded number of traces waiting for their root', async () => {
    const tracer = trace.getTracer('t');
    const parents = Array.from({ length: 5 }, () => tracer.startSpan('open'));
    for (const parent of parents) tracer.startSpan('child', {}, trace.setSpan(context.active(), parent)).end();
    const output: string[] = [];
    await exportAll(new TraceTreeExporter({ write: (text) => output.push(text), colors: false, maxPendingTraces: 2 }));
    expect(output).toHaveLength(3);
  });
});
