import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { decodeSpans, OtlpTypes, type ReceivedSpan } from './otlp-receiver.js';

/** One scripted answer of the HTTP receiver: a status code and headers instead of accepting. */
export interface HttpScriptedAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * A real OTLP/HTTP (protobuf) trace receiver on 127.0.0.1, decoding bodies with the OTLP schema; gzipped bodies
 * are inflated first, as a collector does.
 */
export class OtlpHttpReceiver {
  readonly spans: ReceivedSpan[] = [];
  readonly script: HttpScriptedAnswer[] = [];
  /** When each export call arrived (ms since epoch). */
  readonly calls: number[] = [];
  /** The `Content-Encoding` of each export call, and the bytes it came as. */
  readonly bodies: { encoding?: string; bytes: Buffer }[] = [];

  private constructor(private readonly server: Server) {}

  static async start(): Promise<OtlpHttpReceiver> {
    let receiver: OtlpHttpReceiver | undefined;
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => receiver?.onExport(Buffer.concat(chunks), request.headers['content-encoding'], response));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    receiver = new OtlpHttpReceiver(server);
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1/traces`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private onExport(bytes: Buffer, encoding: string | undefined, response: import('node:http').ServerResponse): void {
    this.calls.push(Date.now());
    this.bodies.push({ encoding, bytes });
    const scripted = this.script.shift();
    if (scripted) {
      response.writeHead(scripted.status, scripted.headers).end(scripted.body ?? '');
      return;
    }
    const body = encoding === 'gzip' ? gunzipSync(bytes) : bytes;
    this.spans.push(...decodeSpans(OtlpTypes.request.decode(body)));
    response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(Buffer.from(OtlpTypes.response.encode({}).finish()));
  }
}
