import * as http from 'node:http';
import * as https from 'node:https';
import type { OtlpCompression } from '../otel.options.js';
import { gzipBody } from './body-compression.js';
import { readPartialSuccess, type ExportOutcome, type OtlpTransport } from './export-outcome.js';

/** HTTP statuses the OTLP specification lets an exporter retry. */
const RETRYABLE = new Set([429, 502, 503, 504]);
/** How much of an error body is kept for the message. */
const MAX_REASON = 200;

/**
 * OTLP over HTTP with protobuf bodies (`http/protobuf`), on a keep-alive agent; with `gzip`, bodies are
 * compressed off the event loop ({@link gzipBody}) and sent with `Content-Encoding: gzip`. Zipkin's JSON bodies
 * go the same way, with their own content type.
 */
export class HttpTransport implements OtlpTransport {
  private readonly agent: http.Agent;
  private readonly headers: Record<string, string>;

  constructor(
    readonly url: string,
    headers: Record<string, string>,
    private readonly compression: OtlpCompression = 'none',
    contentType = 'application/x-protobuf',
  ) {
    this.agent = url.startsWith('https:') ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
    this.headers = { ...headers, 'content-type': contentType, ...(compression === 'gzip' ? { 'content-encoding': 'gzip' } : {}) };
  }

  async send(body: Buffer, timeoutMillis: number): Promise<ExportOutcome> {
    // Compressing can only fail for want of memory; the pipeline retries a rejection like a failed call.
    return this.post(this.compression === 'gzip' ? await gzipBody(body) : body, timeoutMillis);
  }

  private post(body: Buffer, timeoutMillis: number): Promise<ExportOutcome> {
    const request = this.url.startsWith('https:') ? https.request : http.request;
    return new Promise((resolve) => {
      const call = request(this.url, {
        method: 'POST',
        agent: this.agent,
        timeout: timeoutMillis,
        headers: { ...this.headers, 'content-length': body.length },
      });
      call.on('response', (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', (error) => resolve({ kind: 'retryable', reason: `HTTP response failed: ${error.message}` }));
        response.on('end', () => resolve(outcomeOf(response, Buffer.concat(chunks))));
      });
      call.on('timeout', () => call.destroy(new Error(`no answer within ${timeoutMillis} ms`)));
      // A refused, reset or timed-out connection is the collector being away: worth another try.
      call.on('error', (error) => resolve({ kind: 'retryable', reason: `HTTP request failed: ${error.message}` }));
      call.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function outcomeOf(response: http.IncomingMessage, body: Buffer): ExportOutcome {
  const status = response.statusCode ?? 0;
  if (status >= 200 && status < 300) return { kind: 'accepted', ...readPartialSuccess(body) };
  const text = body.toString('utf8').replace(/[^\x20-\x7e]+/g, ' ').trim().slice(0, MAX_REASON);
  const reason = `HTTP ${status}${text ? `: ${text}` : ''}`;
  if (!RETRYABLE.has(status)) return { kind: 'fatal', reason };
  return { kind: 'retryable', reason, retryAfterMillis: retryAfter(response.headers['retry-after']) };
}

/** `Retry-After` as seconds or an HTTP date, in milliseconds from now. */
function retryAfter(header: string | undefined): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
