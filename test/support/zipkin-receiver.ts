import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How a {@link ZipkinReceiver} answers. */
export type ZipkinReceiverMode = 'ok' | 'hang' | 'refuse';

/** A span as Zipkin's v2 JSON carries it. */
export interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string;
  name: string;
  kind?: string;
  timestamp: number;
  duration: number;
  localEndpoint: { serviceName: string };
  tags: Record<string, string>;
  annotations?: { timestamp: number; value: string }[];
}

/**
 * A Zipkin v2 collector on 127.0.0.1: decodes the JSON spans it is sent; `hang` never answers, `refuse` answers
 * 400 as Zipkin does to a body it cannot read.
 */
export class ZipkinReceiver {
  readonly spans: ZipkinSpan[] = [];
  private readonly server: Server;

  private constructor(mode: ZipkinReceiverMode) {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        if (mode === 'hang') return;
        if (mode === 'refuse') {
          res.statusCode = 400;
          res.end('Cannot decode spans');
          return;
        }
        expect(req.method).toBe('POST');
        expect(req.url).toBe('/api/v2/spans');
        expect(req.headers['content-type']).toBe('application/json');
        this.spans.push(...(JSON.parse(Buffer.concat(chunks).toString('utf8')) as ZipkinSpan[]));
        res.statusCode = 202;
        res.end();
      });
    });
  }

  static async start(mode: ZipkinReceiverMode = 'ok'): Promise<ZipkinReceiver> {
    const receiver = new ZipkinReceiver(mode);
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/v2/spans`;
  }

  async waitFor(predicate: (spans: ZipkinSpan[]) => boolean, timeoutMillis = 10_000): Promise<ZipkinSpan[]> {
    const deadline = Date.now() + timeoutMillis;
    while (!predicate(this.spans)) {
      if (Date.now() > deadline) throw new Error(`Zipkin spans never matched: ${JSON.stringify(this.spans)}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return this.spans;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
