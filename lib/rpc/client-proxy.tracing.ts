import type { Observable } from 'rxjs';
import type { PipelinePrototype } from '../handlers/nest-pipelines.js';
import { emitInSpan, injectPacketMetadata, isTracedRpcClient, sendInSpan } from './trace-rpc-client.js';

type ClientMethod = (this: object, pattern: unknown, data: unknown) => unknown;

const PATCHED = Symbol.for('nestjs-tracing.patched-client-proxy');

/** `messaging.system` by Nest's client class: the transport is known without being told. */
const SYSTEMS: Record<string, string> = {
  ClientTCP: 'tcp',
  ClientRedis: 'redis',
  ClientNats: 'nats',
  ClientKafka: 'kafka',
  ClientRMQ: 'rabbitmq',
  ClientMqtt: 'mqtt',
};

/**
 * Traces every microservice client of the process, as {@link traceRpcClient} traces one: `send` in a CLIENT
 * span, `emit` in a PRODUCER span, and (Nest 12) the trace context in each packet's metadata. Wraps the methods
 * of `ClientProxy` itself, which every transport's client inherits; clients given to `traceRpcClient` keep its
 * spans only.
 */
export function traceClientProxies(prototype: PipelinePrototype): void {
  const marked = prototype as PipelinePrototype & { [PATCHED]?: true };
  if (marked[PATCHED]) return;
  marked[PATCHED] = true;
  wrapMethod(prototype, 'send', (send) =>
    function (this: object, pattern: unknown, data: unknown) {
      if (isTracedRpcClient(this)) return send.call(this, pattern, data);
      return sendInSpan(() => send.call(this, pattern, data) as Observable<unknown>, pattern, systemOf(this));
    },
  );
  wrapMethod(prototype, 'emit', (emit) =>
    function (this: object, pattern: unknown, data: unknown) {
      if (isTracedRpcClient(this)) return emit.call(this, pattern, data);
      return emitInSpan(() => emit.call(this, pattern, data) as Observable<unknown>, pattern, systemOf(this));
    },
  );
  // Nest 12 builds every outgoing packet here; older versions have no metadata to carry the context in.
  wrapMethod(prototype, 'createPacket', (createPacket) =>
    function (this: object, pattern: unknown, data: unknown) {
      const packet = createPacket.call(this, pattern, data) as { metadata?: unknown };
      if (!isTracedRpcClient(this) && packet && typeof packet === 'object') injectPacketMetadata(packet);
      return packet;
    },
  );
}

function wrapMethod(prototype: PipelinePrototype, name: string, wrap: (original: ClientMethod) => ClientMethod): void {
  const original = prototype[name];
  if (typeof original === 'function') prototype[name] = wrap(original as ClientMethod);
}

function systemOf(client: object): string {
  for (let at = Object.getPrototypeOf(client) as object | null; at; at = Object.getPrototypeOf(at)) {
    const system = SYSTEMS[(at as { constructor?: { name?: string } }).constructor?.name ?? ''];
    if (system) return system;
  }
  return 'other';
}
