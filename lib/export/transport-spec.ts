import type { OtlpCompression, OtlpProtocol } from '../otel.options.js';
import type { OtlpTransport } from './export-outcome.js';
import { GrpcTransport } from './grpc-transport.js';
import { HttpTransport } from './http-transport.js';

/** What an OTLP transport is made from: plain data, so that the export worker can make the same one. */
export interface TransportSpec {
  readonly protocol: OtlpProtocol;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly compression: OtlpCompression;
}

/** A transport that sends from the thread that calls it. */
export function createTransport(spec: TransportSpec): OtlpTransport {
  return spec.protocol === 'grpc'
    ? new GrpcTransport(spec.url, spec.headers, spec.compression)
    : new HttpTransport(spec.url, spec.headers, spec.compression);
}
