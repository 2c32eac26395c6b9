import type { OtlpCompression, OtlpProtocol } from '../otel.options.js';
import type { OtlpTransport } from './export-outcome.js';
import { GrpcTransport } from './grpc-transport.js';
import { HttpTransport } from './http-transport.js';

/**
 * What a transport is made from: plain data, so that the export worker can make the same one. `zipkin` posts
 * Zipkin's JSON bodies over HTTP; the others are OTLP's protocols.
 */
export interface TransportSpec {
  readonly protocol: OtlpProtocol | 'zipkin';
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly compression: OtlpCompression;
}

/** A transport that sends from the thread that calls it. */
export function createTransport(spec: TransportSpec): OtlpTransport {
  if (spec.protocol === 'grpc') return new GrpcTransport(spec.url, spec.headers, spec.compression);
  if (spec.protocol === 'zipkin') return new HttpTransport(spec.url, spec.headers, spec.compression, 'application/json');
  return new HttpTransport(spec.url, spec.headers, spec.compression);
}
