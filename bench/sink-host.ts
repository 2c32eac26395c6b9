/**
 * The OTLP sinks of `npm run bench`, in a process of their own: decoding a 2048-span export takes the sink's
 * event loop for milliseconds, which inside the runner would delay autocannon's measurement of whatever requests
 * are in flight and charge the traced variants a latency the app never caused. Driven over the IPC channel:
 * `start` answers with the new sink's port, `stop` closes a sink and answers with the spans it received.
 */
import { SpanSink } from './span-sink.js';

/** A request from the runner. */
export type SinkRequest = { id: number; op: 'start' } | { id: number; op: 'stop'; port: number };

/** The answer to the request with the same id. */
export interface SinkReply {
  id: number;
  port?: number;
  received?: number;
  error?: string;
}

const sinks = new Map<number, SpanSink>();

async function handle(request: SinkRequest): Promise<SinkReply> {
  if (request.op === 'start') {
    const sink = await SpanSink.start();
    sinks.set(sink.port, sink);
    return { id: request.id, port: sink.port };
  }
  const sink = sinks.get(request.port);
  if (!sink) return { id: request.id, error: `no sink on port ${request.port}` };
  await sink.stop();
  sinks.delete(request.port);
  return { id: request.id, received: sink.received };
}

process.on('message', (request: SinkRequest) => {
  handle(request).then(
    (reply) => process.send?.(reply),
    (error: unknown) => process.send?.({ id: request.id, error: String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
