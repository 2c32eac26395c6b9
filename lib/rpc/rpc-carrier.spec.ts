import { Metadata } from '@grpc/grpc-js';
import { KafkaContext, MqttContext, NatsContext, RedisContext, RmqContext, TcpContext } from '@nestjs/microservices';
import { rpcCarrier, rpcSystem } from './rpc-carrier.js';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/** NATS message headers as the nats client exposes them: case-preserving, read through keys() and get(). */
class NatsHeaders {
  constructor(private readonly values: Record<string, string>) {}
  keys() {
    return Object.keys(this.values);
  }
  get(key: string) {
    return this.values[key];
  }
}

describe('rpcCarrier', () => {
  it('reads the trace headers of every transport, by its context', () => {
    const grpc = new Metadata();
    grpc.set('traceparent', TRACEPARENT);
    const contexts: [unknown, string][] = [
      [grpc, 'grpc'],
      [new TcpContext([null as never, 'pattern', { traceparent: TRACEPARENT }] as never), 'tcp'],
      [new RedisContext(['pattern', { traceparent: TRACEPARENT }] as never), 'redis'],
      [new NatsContext(['subject', new NatsHeaders({ Traceparent: TRACEPARENT })] as never), 'nats'],
      [new KafkaContext([{ headers: { traceparent: Buffer.from(TRACEPARENT) } }, 0, 'topic'] as never), 'kafka'],
      [new RmqContext([{ properties: { headers: { traceparent: TRACEPARENT } } }, {}, 'pattern'] as never), 'rabbitmq'],
      [new MqttContext(['topic', { properties: { userProperties: { traceparent: TRACEPARENT } } }] as never), 'mqtt'],
    ];
    for (const [context, system] of contexts) {
      expect([system, rpcCarrier(context)?.traceparent, rpcSystem(context)]).toEqual([system, TRACEPARENT, system]);
    }
  });

  it('gives nothing for contexts without headers, and skips values that are not text', () => {
    expect(rpcCarrier(new TcpContext([null as never, 'pattern'] as never))).toBeUndefined();
    expect(rpcCarrier(undefined)).toBeUndefined();
    expect(rpcCarrier(new RmqContext([{ properties: { headers: { n: 1, traceparent: TRACEPARENT } } }, {}, 'p'] as never))).toEqual({ traceparent: TRACEPARENT });
    expect(rpcSystem({})).toBe('other');
  });
});
