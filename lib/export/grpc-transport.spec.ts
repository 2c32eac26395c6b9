import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { gunzipSync, gzipSync } from 'node:zlib';
import { GrpcTransport } from './grpc-transport.js';

/** What the test server saw of one call. */
interface SeenCall {
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
}

type Answer = (stream: http2.ServerHttp2Stream, call: SeenCall) => void;

/** A plain HTTP/2 server on 127.0.0.1 that answers each call as the test says, to see the transport's side of gRPC. */
async function startServer(answer: Answer, port = 0): Promise<{ server: http2.Http2Server; url: string; calls: SeenCall[] }> {
  const server = http2.createServer();
  const calls: SeenCall[] = [];
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      const call = { headers, body: Buffer.concat(chunks) };
      calls.push(call);
      answer(stream, call);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls };
}

async function stopServer(server: http2.Http2Server): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A gRPC message: the five-byte prefix and the bytes. */
function grpcMessage(bytes: Buffer, compressed = false): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = compressed ? 1 : 0;
  prefix.writeUInt32BE(bytes.length, 1);
  return Buffer.concat([prefix, bytes]);
}

const ok: Answer = (stream) => {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  stream.end(grpcMessage(Buffer.alloc(0)));
};

describe('GrpcTransport', () => {
  const servers: http2.Http2Server[] = [];
  const transports: GrpcTransport[] = [];

  async function setUp(answer: Answer) {
    const started = await startServer(answer);
    servers.push(started.server);
    const transport = new GrpcTransport(started.url, { 'X-Api-Key': 'secret-key', authorization: 'Bearer t' });
    transports.push(transport);
    return { ...started, transport };
  }

  afterEach(async () => {
    for (const transport of transports.splice(0)) transport.close();
    for (const server of servers.splice(0)) await stopServer(server).catch(() => undefined);
  });

  it('sends one unary gRPC call: the Export method, gRPC headers, the configured headers and the body behind a length prefix', async () => {
    const { transport, calls } = await setUp(ok);
    const body = Buffer.from('encoded spans \u00e9');
    expect(await transport.send(body, 5000)).toEqual({ kind: 'accepted', rejected: 0 });
    expect(calls).toHaveLength(1);
    const { headers, body: received } = calls[0];
    expect(headers).toMatchObject({
      ':method': 'POST',
      ':path': '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
      'content-type': 'application/grpc',
      te: 'trailers',
      'x-api-key': 'secret-key',
      authorization: 'Bearer t',
    });
    expect(headers['grpc-timeout']).toBe('5000m');
    expect(received.equals(grpcMessage(body))).toBe(true);
  });

  it('reads a partial success from the response message', async () => {
    // ExportTraceServiceResponse { partial_success { rejected_spans: 3, error_message: "too old" } }
    const partial = Buffer.from([0x08, 0x03, 0x12, 0x07, ...Buffer.from('too old')]);
    const response = Buffer.concat([Buffer.from([0x0a, partial.length]), partial]);
    const { transport } = await setUp((stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(grpcMessage(response));
    });
    expect(await transport.send(Buffer.from('x'), 5000)).toEqual({ kind: 'accepted', rejected: 3, message: 'too old' });
  });

  it('with gzip, sends the message compressed under grpc-encoding, and reads a response compressed the same way', async () => {
    // ExportTraceServiceResponse { partial_success { rejected_spans: 2, error_message: "late" } }, gzipped as grpc-go answers a gzipped call.
    const partial = Buffer.from([0x08, 0x02, 0x12, 0x04, ...Buffer.from('late')]);
    const response = gzipSync(Buffer.concat([Buffer.from([0x0a, partial.length]), partial]));
    const started = await startServer((stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-encoding': 'gzip' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(grpcMessage(response, true));
    });
    servers.push(started.server);
    const transport = new GrpcTransport(started.url, {}, 'gzip');
    transports.push(transport);
    const body = Buffer.from('encoded spans, encoded spans, encoded spans \u00e9'.repeat(200));
    expect(await transport.send(body, 5000)).toEqual({ kind: 'accepted', rejected: 2, message: 'late' });
    const { headers, body: received } = started.calls[0];
    expect(headers['grpc-encoding']).toBe('gzip');
    expect(received[0]).toBe(1);
    expect(received.readUInt32BE(1)).toBe(received.length - 5);
    expect(received.length).toBeLessThan(body.length / 10);
    expect(gunzipSync(received.subarray(5)).equals(body)).toBe(true);
  });

  it('without compression, sends no grpc-encoding, and takes a compressed response it cannot read as a plain success', async () => {
    const { transport, calls } = await setUp((stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-encoding': 'snappy' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(grpcMessage(Buffer.from('not gzip'), true));
    });
    expect(await transport.send(Buffer.from('x'), 5000)).toEqual({ kind: 'accepted', rejected: 0 });
    expect(calls[0].headers['grpc-encoding']).toBeUndefined();
  });

  it('reads a trailers-only error, with its percent-encoded message, as final or retryable by its code', async () => {
    const codes = ['3', '14'];
    const { transport } = await setUp((stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': codes.shift()!, 'grpc-message': 'bad%20span%3A%20%C3%A9' }, { endStream: true });
    });
    expect(await transport.send(Buffer.from('x'), 5000)).toEqual({ kind: 'fatal', reason: 'gRPC INVALID_ARGUMENT: bad span: é' });
    expect(await transport.send(Buffer.from('x'), 5000)).toEqual({ kind: 'retryable', reason: 'gRPC UNAVAILABLE: bad span: é', retryAfterMillis: undefined });
  });

  it('maps an HTTP answer without a gRPC status as gRPC does: 503 is retried, 401 is final', async () => {
    const statuses = [503, 401];
    const { transport } = await setUp((stream) => stream.respond({ ':status': statuses.shift()! }, { endStream: true }));
    expect(await transport.send(Buffer.from('x'), 5000)).toMatchObject({ kind: 'retryable', reason: 'gRPC UNAVAILABLE: HTTP 503 without a gRPC status' });
    expect(await transport.send(Buffer.from('x'), 5000)).toMatchObject({ kind: 'fatal', reason: 'gRPC UNAUTHENTICATED: HTTP 401 without a gRPC status' });
  });

  it('gives up on a call at its deadline and says so, as a retryable failure', async () => {
    const { transport } = await setUp(() => undefined);
    const started = Date.now();
    expect(await transport.send(Buffer.from('x'), 300)).toEqual({ kind: 'retryable', reason: 'gRPC DEADLINE_EXCEEDED: no answer within 300 ms' });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('reports a collector that is not listening as retryable, and connects again once it is', async () => {
    const { server, url } = await startServer(ok);
    const port = Number(new URL(url).port);
    await stopServer(server);
    const transport = new GrpcTransport(url, {});
    transports.push(transport);
    const refused = await transport.send(Buffer.from('x'), 2000);
    expect(refused).toMatchObject({ kind: 'retryable' });
    expect((refused as { reason: string }).reason).toMatch(/^gRPC UNAVAILABLE: .*ECONNREFUSED/);
    const restarted = await startServer(ok, port);
    servers.push(restarted.server);
    expect(await transport.send(Buffer.from('x'), 2000)).toEqual({ kind: 'accepted', rejected: 0 });
    expect(restarted.calls).toHaveLength(1);
  });

  it('refuses, as final, a header Node cannot send, without throwing', async () => {
    const { url } = await setUp(ok);
    const transport = new GrpcTransport(url, { 'x bad name': 'value' });
    transports.push(transport);
    expect(await transport.send(Buffer.from('x'), 2000)).toMatchObject({ kind: 'fatal', reason: expect.stringMatching(/^gRPC request not sent: /) });
  });

  it('answers a send after close at once, as final', async () => {
    const { transport, calls } = await setUp(ok);
    transport.close();
    expect(await transport.send(Buffer.from('x'), 2000)).toEqual({ kind: 'fatal', reason: 'the exporter is shut down' });
    expect(calls).toHaveLength(0);
  });
});
