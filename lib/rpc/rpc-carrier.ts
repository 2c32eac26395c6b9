/** A propagation carrier read from an RPC message, normalised to strings. */
export type RpcCarrier = Record<string, string>;

type Headers = Record<string, unknown>;

/** Where each transport's context keeps the headers a producer sent, by the context's class name. */
const HEADER_READERS: Record<string, (context: Record<string, (...args: never[]) => unknown>) => unknown> = {
  // Nest 12 carries `packet.metadata` on TCP and Redis: what a traced client attached (see traceRpcClient).
  TcpContext: (c) => c.getMetadata?.(),
  RedisContext: (c) => c.getMetadata?.(),
  NatsContext: (c) => c.getHeaders?.(),
  KafkaContext: (c) => (c.getMessage?.() as { headers?: unknown } | undefined)?.headers,
  RmqContext: (c) => (c.getMessage?.() as { properties?: { headers?: unknown } } | undefined)?.properties?.headers,
  MqttContext: (c) => (c.getPacket?.() as { properties?: { userProperties?: unknown } } | undefined)?.properties?.userProperties,
};

/** The messaging or RPC system of an RPC context, for span attributes. */
const SYSTEMS: Record<string, string> = {
  TcpContext: 'tcp',
  RedisContext: 'redis',
  NatsContext: 'nats',
  KafkaContext: 'kafka',
  RmqContext: 'rabbitmq',
  MqttContext: 'mqtt',
  Metadata: 'grpc',
};

/**
 * A message pattern as a span name, the same on both sides of a hop: the string itself, `Service/Method` for a
 * gRPC method, and for an object pattern the JSON Nest's servers make of it.
 */
export function rpcPatternName(pattern: unknown): string {
  if (typeof pattern === 'string') return pattern;
  const grpc = pattern as { service?: unknown; rpc?: unknown } | undefined;
  if (grpc && typeof grpc.service === 'string' && typeof grpc.rpc === 'string') return `${grpc.service}/${grpc.rpc}`;
  return JSON.stringify(pattern) ?? String(pattern);
}

/** The system name for an RPC context (`grpc`, `kafka`, `tcp`, ...), or `other`. */
export function rpcSystem(rpcContext: unknown): string {
  return SYSTEMS[constructorName(rpcContext)] ?? 'other';
}

/**
 * The propagation headers of the message being handled, from gRPC metadata, NATS, Kafka, RabbitMQ and MQTT
 * headers, or TCP and Redis packet metadata. Values that are not strings or buffers are left out.
 */
export function rpcCarrier(rpcContext: unknown): RpcCarrier | undefined {
  if (rpcContext === null || typeof rpcContext !== 'object') return undefined;
  const name = constructorName(rpcContext);
  if (name === 'Metadata') return fromGrpcMetadata(rpcContext as GrpcMetadataLike);
  const headers = HEADER_READERS[name]?.(rpcContext as Record<string, (...args: never[]) => unknown>);
  if (headers === null || typeof headers !== 'object') return undefined;
  if (typeof (headers as NatsHeadersLike).keys === 'function' && typeof (headers as NatsHeadersLike).get === 'function') {
    return fromNatsHeaders(headers as NatsHeadersLike);
  }
  return fromRecord(headers as Headers);
}

interface GrpcMetadataLike {
  getMap(): Record<string, unknown>;
}

interface NatsHeadersLike {
  keys(): Iterable<string>;
  get(key: string): string;
}

function fromGrpcMetadata(metadata: GrpcMetadataLike): RpcCarrier | undefined {
  return typeof metadata.getMap === 'function' ? fromRecord(metadata.getMap()) : undefined;
}

function fromNatsHeaders(headers: NatsHeadersLike): RpcCarrier {
  const carrier: RpcCarrier = {};
  for (const key of headers.keys()) carrier[key.toLowerCase()] = headers.get(key);
  return carrier;
}

function fromRecord(headers: Headers): RpcCarrier {
  const carrier: RpcCarrier = {};
  for (const [key, value] of Object.entries(headers)) {
    const text = typeof value === 'string' ? value : Buffer.isBuffer(value) ? value.toString('utf8') : undefined;
    if (text !== undefined) carrier[key.toLowerCase()] = text;
  }
  return carrier;
}

function constructorName(value: unknown): string {
  return (value as { constructor?: { name?: string } } | null)?.constructor?.name ?? '';
}
