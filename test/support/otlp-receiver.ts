import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { fileURLToPath } from 'node:url';

/**
 * A real OTLP/gRPC trace receiver on 127.0.0.1 standing in for Jaeger or a collector. It decodes
 * `ExportTraceServiceRequest` with protobufjs from the OTLP schema (`otlp-trace.proto`), independently of the
 * exporter under test.
 */

/** A span as the receiver decoded it from the wire. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: string;
  attributes: Record<string, unknown>;
  status: { code: string; message?: string };
  events: { name: string; attributes: Record<string, unknown> }[];
  resource: Record<string, unknown>;
  scope: string;
  /** Start and end, in milliseconds since the epoch. */
  startMillis: number;
  endMillis: number;
}

/** How the receiver answers exports: normally, never (a hung collector), or with UNAVAILABLE. */
export type ReceiverMode = 'ok' | 'hang' | 'unavailable';

/** One scripted answer to an export call, used before the mode applies. */
export interface ScriptedAnswer {
  /** A gRPC status code to fail with. */
  code?: grpc.status;
  /** With `code`: a RetryInfo delay in `grpc-status-details-bin`. */
  retryDelayMillis?: number;
  /** Accept, but report this many spans rejected (OTLP partial success). */
  rejected?: number;
}

interface ProtoType {
  decode(buffer: Uint8Array): unknown;
  encode(message: unknown): { finish(): Uint8Array };
  toObject(message: unknown, options: Record<string, unknown>): Record<string, unknown>;
}

const schema = protobuf.loadSync(fileURLToPath(new URL('./otlp-trace.proto', import.meta.url)));
/** The OTLP messages, for tests that decode an export themselves. */
export const OtlpTypes = {
  request: schema.lookupType('otlp.ExportTraceServiceRequest') as unknown as ProtoType,
  response: schema.lookupType('otlp.ExportTraceServiceResponse') as unknown as ProtoType,
};
const RequestType = OtlpTypes.request;
const RAW = Symbol('raw export bytes');
const ResponseType = OtlpTypes.response;

const SERVICE = {
  Export: {
    path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
    requestStream: false,
    responseStream: false,
    requestSerialize: (message: unknown) => Buffer.from(RequestType.encode(message).finish()),
    // The bytes stay with the message, for tests that search everything the collector received.
    requestDeserialize: (buffer: Buffer) => Object.assign(RequestType.decode(buffer) as object, { [RAW]: Buffer.from(buffer) }),
    responseSerialize: (message: unknown) => Buffer.from(ResponseType.encode(message).finish()),
    responseDeserialize: (buffer: Buffer) => ResponseType.decode(buffer),
  },
} satisfies grpc.ServiceDefinition;

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** Export calls received, whatever the mode answered. */
  exportCalls = 0;
  /** The bytes of every export the receiver accepted. */
  readonly rawExports: Buffer[] = [];
  /** Answers for the next export calls, in order; each is used once. */
  readonly script: ScriptedAnswer[] = [];
  private readonly hung: (() => void)[] = [];
  private waiters: (() => void)[] = [];

  private constructor(
    private readonly server: grpc.Server,
    readonly port: number,
    public mode: ReceiverMode,
  ) {}

  /** Starts a receiver on 127.0.0.1 with a free port, or with `port` to reuse the address of a stopped one. */
  static async start(mode: ReceiverMode = 'ok', port = 0): Promise<OtlpReceiver> {
    const server = new grpc.Server();
    let receiver: OtlpReceiver | undefined;
    server.addService(SERVICE, {
      Export: (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) =>
        receiver?.onExport(call.request, callback),
    });
    const bound = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, p) =>
        error ? reject(error) : resolve(p),
      ),
    );
    receiver = new OtlpReceiver(server, bound, mode);
    return receiver;
  }

  /** The URL to give the exporter (`OTEL_EXPORTER_OTLP_ENDPOINT`). */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Resolves once `predicate` holds for the received spans; rejects after `timeoutMillis`. */
  async waitFor(predicate: (spans: ReceivedSpan[]) => boolean, timeoutMillis = 10_000): Promise<ReceivedSpan[]> {
    const deadline = Date.now() + timeoutMillis;
    while (!predicate(this.spans)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`OTLP receiver: condition not met in ${timeoutMillis} ms; got ${this.describe()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.spans;
  }

  /** Span names with their service, for failure messages. */
  describe(): string {
    return `${this.spans.length} span(s): ${this.spans.map((s) => `${s.resource['service.name']}:${s.name}`).join(', ')}`;
  }

  async stop(): Promise<void> {
    for (const release of this.hung.splice(0)) release();
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
    this.server.forceShutdown();
  }

  private onExport(request: unknown, callback: grpc.sendUnaryData<unknown>): void {
    this.exportCalls++;
    const scripted = this.script.shift();
    if (scripted?.code !== undefined) {
      const metadata = new grpc.Metadata();
      if (scripted.retryDelayMillis !== undefined) metadata.set('grpc-status-details-bin', retryInfo(scripted.code, scripted.retryDelayMillis));
      callback({ code: scripted.code, details: 'scripted failure', metadata });
      return;
    }
    if (this.mode === 'hang') {
      this.hung.push(() => callback({ code: grpc.status.UNAVAILABLE, details: 'receiver stopped' }));
      return;
    }
    if (this.mode === 'unavailable') {
      callback({ code: grpc.status.UNAVAILABLE, details: 'receiver unavailable' });
      return;
    }
    this.rawExports.push((request as { [RAW]: Buffer })[RAW]);
    this.spans.push(...decodeSpans(request));
    callback(null, scripted?.rejected ? { partialSuccess: { rejectedSpans: scripted.rejected, errorMessage: 'spans too large' } } : {});
    for (const wake of this.waiters.splice(0)) wake();
  }
}

/** The spans of a decoded `ExportTraceServiceRequest`. */
export function decodeSpans(request: unknown): ReceivedSpan[] {
  return flatten(RequestType.toObject(request, { enums: String, bytes: String, longs: String, defaults: true, oneofs: true }));
}

/** A `google.rpc.Status` with a RetryInfo detail, as `grpc-status-details-bin` carries it. */
function retryInfo(code: number, delayMillis: number): Buffer {
  const info = schema.lookupType('otlp.RetryInfo');
  const status = schema.lookupType('otlp.RpcStatus');
  const value = info.encode({ retryDelay: { seconds: Math.floor(delayMillis / 1000), nanos: (delayMillis % 1000) * 1e6 } }).finish();
  return Buffer.from(status.encode({ code, message: 'slow down', details: [{ typeUrl: 'type.googleapis.com/google.rpc.RetryInfo', value }] }).finish());
}

interface KeyValue {
  key: string;
  value: Record<string, unknown>;
}

function flatten(request: Record<string, unknown>): ReceivedSpan[] {
  const result: ReceivedSpan[] = [];
  for (const resourceSpans of (request.resourceSpans ?? []) as Record<string, unknown>[]) {
    const resource = attributes(((resourceSpans.resource as { attributes?: KeyValue[] }) ?? {}).attributes);
    for (const scopeSpans of (resourceSpans.scopeSpans ?? []) as Record<string, unknown>[]) {
      const scope = (scopeSpans.scope as { name?: string } | undefined)?.name ?? '';
      for (const span of (scopeSpans.spans ?? []) as Record<string, unknown>[]) {
        result.push({
          traceId: hex(span.traceId),
          spanId: hex(span.spanId),
          parentSpanId: hex(span.parentSpanId),
          name: span.name as string,
          kind: String(span.kind).replace('SPAN_KIND_', ''),
          attributes: attributes(span.attributes as KeyValue[]),
          status: {
            code: String((span.status as { code?: string } | undefined)?.code ?? 'STATUS_CODE_UNSET').replace('STATUS_CODE_', ''),
            message: (span.status as { message?: string } | undefined)?.message || undefined,
          },
          events: ((span.events ?? []) as { name: string; attributes?: KeyValue[] }[]).map((e) => ({
            name: e.name,
            attributes: attributes(e.attributes),
          })),
          resource,
          scope,
          startMillis: Number(BigInt(String(span.startTimeUnixNano)) / 1000n) / 1000,
          endMillis: Number(BigInt(String(span.endTimeUnixNano)) / 1000n) / 1000,
        });
      }
    }
  }
  return result;
}

function attributes(list: KeyValue[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of list ?? []) out[key] = anyValue(value);
  return out;
}

/** `oneofs: true` names the field that is set in `value`. */
function anyValue(value: Record<string, unknown> | undefined): unknown {
  const field = value?.value as string | undefined;
  if (!value || !field) return undefined;
  if (field === 'intValue') return Number(value.intValue);
  if (field === 'arrayValue') return ((value.arrayValue as { values?: Record<string, unknown>[] }).values ?? []).map(anyValue);
  return value[field];
}

/** protobufjs gives bytes as base64 with `bytes: String`; spans carry ids as lowercase hex. */
function hex(value: unknown): string {
  if (typeof value !== 'string' || value === '') return '';
  return Buffer.from(value, 'base64').toString('hex');
}
