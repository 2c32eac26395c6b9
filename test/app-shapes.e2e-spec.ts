import { ClientProxyFactory, Transport, type ClientProxy } from '@nestjs/microservices';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { firstValueFrom } from 'rxjs';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { ROOT, startChildApp, type ChildApp } from './support/child-app.js';
import { OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver.js';
import { freePort } from './support/ports.js';
import { nest11Install, nest12Install, type NestInstall } from './support/nest-installs.js';

const COMPILED = join(ROOT, 'build/shapes/shapes-app.js');
const nest12 = () => nest12Install(COMPILED);
const nest11 = () => nest11Install(COMPILED);

const byName = (spans: ReceivedSpan[], name: string) => spans.filter((s) => s.name === name);
const one = (spans: ReceivedSpan[], name: string, where: (s: ReceivedSpan) => boolean = () => true): ReceivedSpan => {
  const found = byName(spans, name).filter(where);
  if (found.length !== 1) throw new Error(`expected one span ${name}, got ${found.length}: ${spans.map((s) => s.name).join(', ')}`);
  return found[0];
};
const childOf = (spans: ReceivedSpan[], parent: ReceivedSpan) => spans.filter((s) => s.parentSpanId === parent.spanId);
const exceptionTypes = (span: ReceivedSpan) => span.events.filter((e) => e.name === 'exception').map((e) => e.attributes['exception.type']);

describe.each([
  ['Nest 12', nest12],
  ['Nest 11', nest11],
])('app shapes on %s', (_, install) => {
  let nest: NestInstall;
  let receiver: OtlpReceiver;
  const apps: ChildApp[] = [];

  beforeAll(async () => {
    nest = install();
    receiver = await OtlpReceiver.start();
  });

  afterAll(async () => {
    await Promise.all(apps.map((app) => app.stop('SIGKILL')));
    await receiver?.stop();
    nest?.cleanup();
  });

  async function start(shape: string, tcpPort: number, env: Record<string, string> = {}): Promise<ChildApp> {
    const app = await startChildApp(
      nest.script,
      { SHAPE: shape, TCP_PORT: String(tcpPort), OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '100', OTEL_SERVICE_NAME: `shapes-${shape}`, ...env },
      nest.nodeArgs,
    );
    apps.push(app);
    return app;
  }

  const ofService = (service: string) => receiver.spans.filter((s) => s.resource['service.name'] === service);

  describe('a hybrid app without inheritAppConfig', () => {
    let app: ChildApp;
    let tcpPort: number;
    let client: ClientProxy;

    beforeAll(async () => {
      tcpPort = await freePort();
      app = await start('hybrid', tcpPort);
      client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port: tcpPort } });
    });

    afterAll(() => client?.close());

    it('traces a message a TCP client sends: SERVER span with the handler span under it', async () => {
      expect(await firstValueFrom(client.send({ cmd: 'sum' }, [2, 3]))).toBe(5);
      const spans = await receiver.waitFor((all) => all.some((s) => s.name === 'MathController.sum'));
      const handler = one(spans, 'MathController.sum');
      const server = spans.find((s) => s.spanId === handler.parentSpanId);
      expect(server).toMatchObject({ name: '{"cmd":"sum"}', kind: 'SERVER', attributes: { 'messaging.system': 'tcp' } });
      expect(handler.attributes).toMatchObject({ 'nestjs.controller': 'MathController', 'nestjs.callback': 'sum', 'nestjs.transport': 'rpc' });
    });

    it('traces a call the app makes to itself from an HTTP handler, under the CLIENT span', async () => {
      const before = receiver.spans.length;
      expect(await (await fetch(`${app.url}/sum`)).json()).toEqual({ sum: 6 });
      const spans = await receiver.waitFor((all) => all.slice(before).filter((s) => s.name === '{"cmd":"sum"}').length === 2 && all.some((s) => s.name === 'GET /sum'));
      const fresh = spans.slice(before);
      const http = one(fresh, 'GET /sum');
      const route = one(fresh, 'ItemsController.sum');
      const clientSpan = one(fresh, '{"cmd":"sum"}', (s) => s.kind === 'CLIENT');
      const serverSpan = one(fresh, '{"cmd":"sum"}', (s) => s.kind === 'SERVER');
      expect(route.parentSpanId).toBe(http.spanId);
      expect(clientSpan.parentSpanId).toBe(route.spanId);
      if (nest.tcpCarriesContext) {
        expect(serverSpan.traceId).toBe(http.traceId);
        expect(serverSpan.parentSpanId).toBe(clientSpan.spanId);
      } else {
        // Nest 11's TCP packets have no metadata: the message starts a trace of its own.
        expect(serverSpan.parentSpanId).toBe('');
      }
      expect(childOf(fresh, serverSpan).map((s) => s.name)).toEqual(['MathController.sum']);
    });

    it('traces a throwing message handler: the exception on both spans, ERROR', async () => {
      await expect(firstValueFrom(client.send({ cmd: 'fail' }, {}))).rejects.toBeDefined();
      const spans = await receiver.waitFor((all) => all.some((s) => s.name === 'MathController.fail'));
      const handler = one(spans, 'MathController.fail');
      const server = spans.find((s) => s.spanId === handler.parentSpanId)!;
      for (const span of [handler, server]) {
        expect(span.status).toEqual({ code: 'ERROR', message: 'ledger write failed' });
        expect(exceptionTypes(span)).toEqual(['Error']);
      }
    });

    it('traces an event as a CONSUMER span', async () => {
      await firstValueFrom(client.emit('item.viewed', { id: 7 }), { defaultValue: undefined });
      const spans = await receiver.waitFor((all) => all.some((s) => s.name === 'MathController.viewed'));
      const handler = one(spans, 'MathController.viewed');
      expect(spans.find((s) => s.spanId === handler.parentSpanId)).toMatchObject({ name: 'item.viewed', kind: 'CONSUMER' });
    });

    it.each([
      ['a ParseIntPipe', 'GET', '/items/abc', undefined, 400, 'GET /items/:id', 'ItemsController.findOne', 'BadRequestException'],
      ['a guard', 'GET', '/vault', undefined, 403, 'GET /vault', 'ItemsController.vault', 'ForbiddenException'],
      ['the global ValidationPipe', 'POST', '/items', { name: 'too long' }, 400, 'POST /items', 'ItemsController.create', 'BadRequestException'],
    ])('gives a request rejected by %s the handler span with the rejection, not ERROR', async (__, method, path, body, status, serverName, handlerName, type) => {
      const response = await fetch(`${app.url}${path}`, {
        method,
        headers: body ? { 'content-type': 'application/json' } : {},
        body: body ? JSON.stringify(body) : undefined,
      });
      expect(response.status).toBe(status);
      const spans = await receiver.waitFor((all) => all.some((s) => s.name === handlerName));
      const handler = one(spans, handlerName);
      const server = one(spans, serverName);
      expect(handler.parentSpanId).toBe(server.spanId);
      expect(exceptionTypes(handler)).toEqual([type]);
      expect(handler.status.code).toBe('UNSET');
      expect(server.status.code).toBe('UNSET');
      expect(server.attributes['http.response.status_code']).toBe(status);
    });

    async function graphql(query: string) {
      const response = await fetch(`${app.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
      return { status: response.status, body: (await response.json()) as { errors?: { extensions?: { code?: string } }[] } };
    }

    const graphqlSpansFor = async (resolver: string) => {
      const spans = await receiver.waitFor((all) => all.some((s) => s.name === resolver && all.some((p) => p.spanId === s.parentSpanId)));
      const handler = spans.filter((s) => s.name === resolver).at(-1)!;
      const operation = spans.find((s) => s.spanId === handler.parentSpanId)!;
      const server = spans.find((s) => s.spanId === operation.parentSpanId)!;
      return { handler, operation, server };
    };

    it('records a GraphQL client error (ValidationPipe, @Max) without marking anything ERROR', async () => {
      const { status, body } = await graphql('{ items(take: 20) { id } }');
      expect(status).toBe(200);
      expect(body.errors?.[0].extensions?.code).toBe('BAD_REQUEST');
      const { handler, operation, server } = await graphqlSpansFor('ItemsResolver.items');
      expect(server.name).toBe('POST /graphql');
      expect(exceptionTypes(handler)).toEqual(['BadRequestException']);
      expect(exceptionTypes(operation)).toEqual(['BadRequestException']);
      expect(server.attributes['error.type']).toBe('BadRequestException');
      expect([handler, operation, server].map((s) => s.status.code)).toEqual(['UNSET', 'UNSET', 'UNSET']);
    });

    it('marks a GraphQL server-side failure ERROR on the resolver, operation and HTTP spans', async () => {
      const { status } = await graphql('{ item(id: 500) { id } }');
      expect(status).toBe(200);
      const { handler, operation, server } = await graphqlSpansFor('ItemsResolver.item');
      expect([handler, operation, server].map((s) => s.status.code)).toEqual(['ERROR', 'ERROR', 'ERROR']);
      expect(operation.status.message).toBe('item store unavailable');
    });

    it('names a query that GraphQL validation refuses after the endpoint and records why', async () => {
      const { status, body } = await graphql('{ nope }');
      expect(status).toBe(400);
      expect(body.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      const spans = await receiver.waitFor((all) => all.some((s) => s.attributes['error.type'] === 'GRAPHQL_VALIDATION_FAILED'));
      const server = one(spans, 'POST /graphql', (s) => s.attributes['error.type'] === 'GRAPHQL_VALIDATION_FAILED');
      expect(server.attributes).toMatchObject({ 'http.route': '/graphql', 'http.response.status_code': 400 });
      expect(server.status.code).toBe('UNSET');
      expect(server.events[0].attributes['exception.message']).toBe('Cannot query field "nope" on type "Query".');
    });

    it('traces socket.io gateway messages answered by an Observable and by a Promise', async () => {
      const socket = io(app.url, { transports: ['websocket'], forceNew: true });
      try {
        const ticks: number[] = [];
        const counted = new Promise<void>((resolve) => socket.on('tick', (n: number) => (ticks.push(n), n === 3 && resolve())));
        const echoed = new Promise<string>((resolve) => socket.on('echoed', resolve));
        socket.emit('count', 3);
        socket.emit('echo', 'hello');
        await counted;
        expect(await echoed).toBe('HELLO');
        expect(ticks).toEqual([1, 2, 3]);
      } finally {
        socket.close();
      }
      await expectGatewaySpans('shapes-hybrid');
    });

    it('sends baggage with Node\'s http client by default, and not under the strict privacy preset', async () => {
      const received: IncomingHttpHeaders[] = [];
      const downstream = createServer((request, response) => (received.push(request.headers), response.end('ok')));
      await new Promise<void>((resolve) => downstream.listen(0, '127.0.0.1', resolve));
      try {
        const port = (downstream.address() as AddressInfo).port;
        const strict = await start('hybrid', await freePort(), { OTEL_NESTJS_TRACING_PRIVACY: 'strict', OTEL_SERVICE_NAME: 'shapes-strict' });
        for (const target of [app, strict]) expect((await fetch(`${target.url}/relay?port=${port}`)).status).toBe(200);
        expect(received.map((h) => [typeof h.traceparent, h.baggage])).toEqual([
          ['string', 'user.tier=gold'],
          ['string', undefined],
        ]);
      } finally {
        downstream.closeAllConnections();
        await new Promise((resolve) => downstream.close(resolve));
      }
    });
  });

  async function expectGatewaySpans(service: string) {
    await receiver.waitFor(() => ofService(service).some((s) => s.name === 'EventsGateway.count') && ofService(service).some((s) => s.name === 'EventsGateway.echo'));
    const spans = ofService(service);
    for (const [event, handlerName] of [['count', 'EventsGateway.count'], ['echo', 'EventsGateway.echo']]) {
      const handler = one(spans, handlerName);
      expect(spans.find((s) => s.spanId === handler.parentSpanId)).toMatchObject({ name: `WS ${event}`, kind: 'SERVER' });
      expect(handler.status.code).toBe('UNSET');
    }
  }

  it('traces ws gateway messages answered by an Observable and by a Promise', async () => {
    const app = await start('ws', await freePort());
    const socket = new WebSocket(app.url.replace('http', 'ws'));
    try {
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      const received: { event: string; data: unknown }[] = [];
      const done = new Promise<void>((resolve) =>
        socket.on('message', (raw: Buffer) => {
          received.push(JSON.parse(String(raw)));
          if (received.length === 4) resolve();
        }),
      );
      socket.send(JSON.stringify({ event: 'count', data: 3 }));
      socket.send(JSON.stringify({ event: 'echo', data: 'hi' }));
      await done;
      expect(received).toEqual(expect.arrayContaining([{ event: 'tick', data: 3 }, { event: 'echoed', data: 'HI' }]));
    } finally {
      socket.close();
    }
    await expectGatewaySpans('shapes-ws');
  });

  it('traces a standalone microservice and exports its spans on SIGTERM', async () => {
    const port = await freePort();
    const app = await start('standalone', port);
    const client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
    try {
      const sums = await Promise.all(Array.from({ length: 5 }, (__, i) => firstValueFrom(client.send<number>({ cmd: 'sum' }, [i, 1]))));
      expect(sums).toEqual([1, 2, 3, 4, 5]);
    } finally {
      client.close();
    }
    const stopped = await app.stop('SIGTERM');
    expect(stopped.code === 0 || stopped.signal === 'SIGTERM').toBe(true);
    const spans = ofService('shapes-standalone');
    expect(byName(spans, 'MathController.sum')).toHaveLength(5);
    expect(byName(spans, '{"cmd":"sum"}').map((s) => s.kind)).toEqual(Array(5).fill('SERVER'));
  });
});
