import { defaultTextMapSetter, propagation, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OutgoingBaggageFilter } from './baggage-filter.js';

describe('the outgoing baggage filter', () => {
  let server: Server;
  const received: IncomingHttpHeaders[] = [];
  const filter = new OutgoingBaggageFilter();

  beforeAll(async () => {
    server = createServer((req, res) => {
      received.push(req.headers);
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    filter.allows = (host) => host === 'localhost';
    filter.install();
  });

  afterAll(async () => {
    filter.uninstall();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const port = () => (server.address() as AddressInfo).port;
  const headers = { baggage: 'user.tier=gold', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' };

  it('injects the context without baggage for an http request to another host, as instrumentation-http reports it', () => {
    const propagator = filter.guard(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
    const span = trace.wrapSpanContext({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED });
    const active = propagation.setBaggage(trace.setSpan(ROOT_CONTEXT, span), propagation.createBaggage({ 'user.tier': { value: 'gold' } }));
    const injected = (host: string | undefined) => {
      if (host !== undefined) filter.noteOutgoingHost({ hostname: host });
      const carrier: Record<string, string> = {};
      propagator.inject(active, carrier, defaultTextMapSetter);
      return [carrier.baggage, carrier.traceparent];
    };
    expect(injected('127.0.0.1')).toEqual([undefined, headers.traceparent]);
    expect(injected('LOCALHOST')).toEqual([headers.baggage, headers.traceparent]);
    // Injection not announced by the hook (another carrier): left alone, and the host is not remembered.
    expect(injected(undefined)).toEqual([headers.baggage, headers.traceparent]);
  });

  it('removes it from fetch (undici) requests to other hosts', async () => {
    received.length = 0;
    for (const host of ['127.0.0.1', 'localhost']) await (await fetch(`http://${host}:${port()}/`, { headers })).text();
    expect(received.map((h) => [h.baggage, h.traceparent])).toEqual([
      [undefined, headers.traceparent],
      [headers.baggage, headers.traceparent],
    ]);
  });

  it('lets everything through once uninstalled', async () => {
    filter.uninstall();
    received.length = 0;
    await (await fetch(`http://127.0.0.1:${port()}/`, { headers })).text();
    expect(received[0].baggage).toBe(headers.baggage);
    filter.install();
  });
});
