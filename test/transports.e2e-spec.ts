import { Metadata } from '@grpc/grpc-js';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Controller, Get, Inject, Module, type INestApplication, type INestMicroservice, type OnModuleInit } from '@nestjs/common';
import { Args, GraphQLModule, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import {
  ClientProxyFactory,
  EventPattern,
  GrpcMethod,
  MessagePattern,
  RpcException,
  Transport,
  type ClientGrpc,
  type ClientProxy,
} from '@nestjs/microservices';
import { WsAdapter } from '@nestjs/platform-ws';
import { Test } from '@nestjs/testing';
import { MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { firstValueFrom, type Observable } from 'rxjs';
import WebSocket from 'ws';
import { injectGrpcMetadata, OtelModule, traceRpcClient } from '../lib/index.js';
import { SpanRecorder } from '../lib/testing/index.js';
import { freePort } from './support/ports.js';
import { ROOT } from './support/child-app.js';

const recorder = new SpanRecorder();
// One module definition for every app of this file: they share the process's SDK and so this recorder.
const TRACING = OtelModule.forRoot({ serviceName: 'transports', exporter: 'none', spanProcessors: [recorder], instrumentations: [] });

@Controller()
class ScoringHandlers {
  static events: unknown[] = [];

  @MessagePattern('score')
  score(data: { candidateId: string }) {
    if (data.candidateId === 'unknown') throw new RpcException('no such candidate');
    return { score: data.candidateId.length * 10 };
  }

  @EventPattern('candidate.scored')
  scored(data: unknown) {
    ScoringHandlers.events.push(data);
  }

  @GrpcMethod('Scoring', 'Score')
  grpcScore(request: { candidateId: string }) {
    return { score: request.candidateId.length };
  }
}

@Module({ imports: [TRACING], controllers: [ScoringHandlers] })
class ScoringModule {}

interface ScoringStub {
  score(request: { candidateId: string }, metadata?: Metadata): Observable<{ score: number }>;
}

@Controller('gateway')
class GatewayController implements OnModuleInit {
  private grpcScoring!: ScoringStub;

  constructor(
    @Inject('TCP_SCORING') private readonly tcp: ClientProxy,
    @Inject('GRPC_SCORING') private readonly grpc: ClientGrpc,
  ) {}

  onModuleInit() {
    this.grpcScoring = this.grpc.getService<ScoringStub>('Scoring');
  }

  @Get('tcp')
  async viaTcp() {
    const { score } = await firstValueFrom(this.tcp.send<{ score: number }>('score', { candidateId: 'c-42' }));
    await firstValueFrom(this.tcp.emit('candidate.scored', { candidateId: 'c-42', score }), { defaultValue: undefined });
    return { score };
  }

  @Get('tcp-unknown')
  async unknown() {
    return firstValueFrom(this.tcp.send('score', { candidateId: 'unknown' })).catch((error: unknown) => ({ error }));
  }

  @Get('grpc')
  async viaGrpc() {
    return firstValueFrom(this.grpcScoring.score({ candidateId: 'c-7' }, injectGrpcMetadata(new Metadata())));
  }
}

@WebSocketGateway()
class ChatGateway {
  @SubscribeMessage('chat.send')
  onChat(@MessageBody() text: string) {
    return { event: 'chat.sent', data: text.toUpperCase() };
  }
}

@Resolver('Candidate')
class CandidateResolver {
  @Query('candidate')
  candidate(@Args('id') id: string) {
    if (id === 'broken') throw new Error('candidate store unavailable');
    return { id, name: `Candidate ${id}` };
  }

  @ResolveField('skills')
  skills(@Parent() candidate: { id: string }) {
    return [`skill-of-${candidate.id}`];
  }
}

describe('transports', () => {
  let tcpServer: INestMicroservice;
  let grpcServer: INestMicroservice;
  let gateway: INestApplication;
  let url: string;

  beforeAll(async () => {
    const [tcpPort, grpcPort] = [await freePort(), await freePort()];
    const scoring = await Test.createTestingModule({ imports: [ScoringModule] }).compile();
    tcpServer = scoring.createNestMicroservice({ transport: Transport.TCP, options: { host: '127.0.0.1', port: tcpPort }, logger: false });
    const grpcOptions = { package: 'scoring', protoPath: join(ROOT, 'test/fixtures/scoring.proto'), url: `127.0.0.1:${grpcPort}` };
    const grpcModule = await Test.createTestingModule({ imports: [ScoringModule] }).compile();
    grpcServer = grpcModule.createNestMicroservice({ transport: Transport.GRPC, options: grpcOptions, logger: false });
    await Promise.all([tcpServer.listen(), grpcServer.listen()]);

    @Module({
      imports: [TRACING, GraphQLModule.forRoot<ApolloDriverConfig>({
        driver: ApolloDriver,
        typeDefs: 'type Query { candidate(id: ID!): Candidate } type Candidate { id: ID! name: String skills: [String] }',
      })],
      controllers: [GatewayController],
      providers: [
        ChatGateway,
        CandidateResolver,
        {
          provide: 'TCP_SCORING',
          useFactory: () =>
            traceRpcClient(ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port: tcpPort } }), { system: 'tcp' }),
        },
        { provide: 'GRPC_SCORING', useFactory: () => ClientProxyFactory.create({ transport: Transport.GRPC, options: grpcOptions }) },
      ],
    })
    class GatewayModule {}

    const gatewayRef = await Test.createTestingModule({ imports: [GatewayModule] }).compile();
    gateway = gatewayRef.createNestApplication({ logger: false });
    gateway.useWebSocketAdapter(new WsAdapter(gateway));
    await gateway.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(gateway.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await gateway.close();
    await Promise.all([tcpServer.close(), grpcServer.close()]);
  });

  beforeEach(() => recorder.reset());

  it('carries one trace from an HTTP handler over TCP to a message handler and an event handler', async () => {
    expect(await (await fetch(`${url}/gateway/tcp`)).json()).toEqual({ score: 40 });
    const server = await recorder.waitForServerSpan('/gateway/tcp');
    await recorder.waitFor(() => recorder.byName('ScoringHandlers.scored').length === 1);

    expect(recorder.outline(server)).toEqual([
      'GET /gateway/tcp',
      '  GatewayController.viaTcp',
      '    score',
      '      score',
      '        ScoringHandlers.score',
      '    candidate.scored',
      '      candidate.scored',
      '        ScoringHandlers.scored',
    ]);
    const kinds = (name: string) => recorder.byName(name).map((s) => SpanKind[s.kind]).sort();
    expect(kinds('score')).toEqual(['CLIENT', 'SERVER']);
    expect(kinds('candidate.scored')).toEqual(['CONSUMER', 'PRODUCER']);
    const [consumer] = recorder.byName('candidate.scored').filter((s) => s.kind === SpanKind.CONSUMER);
    expect(consumer.attributes).toMatchObject({ 'messaging.system': 'tcp', 'nestjs.pattern': 'candidate.scored', 'messaging.operation.type': 'process' });
    expect(ScoringHandlers.events).toEqual([{ candidateId: 'c-42', score: 40 }]);
  });

  it('marks the consumer and client spans ERROR when the handler throws an RpcException', async () => {
    const body = (await (await fetch(`${url}/gateway/tcp-unknown`)).json()) as { error: unknown };
    expect(body.error).toMatchObject({ message: 'no such candidate' });
    await recorder.waitFor(() => recorder.byName('score').length === 2);
    for (const span of recorder.byName('score')) expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(recorder.byName('ScoringHandlers.score')[0].events.map((e) => e.name)).toEqual(['exception']);
  });

  it('continues the trace over gRPC from the call metadata', async () => {
    expect(await (await fetch(`${url}/gateway/grpc`)).json()).toEqual({ score: 3 });
    const server = await recorder.waitForServerSpan('/gateway/grpc');
    await recorder.waitFor(() => recorder.byName('ScoringHandlers.grpcScore').length === 1);
    expect(recorder.outline(server)).toEqual([
      'GET /gateway/grpc',
      '  GatewayController.viaGrpc',
      '    Scoring/Score',
      '      ScoringHandlers.grpcScore',
    ]);
    const [rpc] = recorder.byName('Scoring/Score');
    expect([rpc.kind, rpc.attributes['rpc.system']]).toEqual([SpanKind.SERVER, 'grpc']);
  });

  it('gives each WebSocket message a span named after its event', async () => {
    const socket = new WebSocket(url.replace('http', 'ws'));
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const reply = new Promise<string>((resolve) => socket.once('message', (data) => resolve(String(data))));
    socket.send(JSON.stringify({ event: 'chat.send', data: 'hello' }));
    expect(JSON.parse(await reply)).toEqual({ event: 'chat.sent', data: 'HELLO' });
    socket.close();

    const entry = await recorder.waitForSpan('WS chat.send');
    expect(entry.kind).toBe(SpanKind.SERVER);
    expect(recorder.outline(entry)).toEqual(['WS chat.send', '  ChatGateway.onChat']);
  });

  it('gives a GraphQL operation a span under the HTTP span, with a span per root resolver', async () => {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'query FindCandidate { candidate(id: "c-1") { id name skills } }', operationName: 'FindCandidate' }),
    });
    expect(await response.json()).toEqual({ data: { candidate: { id: 'c-1', name: 'Candidate c-1', skills: ['skill-of-c-1'] } } });
    const server = await recorder.waitForServerSpan('/graphql');
    expect(recorder.outline(server)).toEqual(['POST /graphql', '  query FindCandidate', '    CandidateResolver.candidate']);
    const [operation] = recorder.byName('query FindCandidate');
    expect(operation.attributes).toMatchObject({ 'graphql.operation.type': 'query', 'graphql.operation.name': 'FindCandidate' });
    expect(server.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('marks a GraphQL operation and its HTTP span ERROR when a resolver fails, though HTTP says 200', async () => {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ candidate(id: "broken") { id } }' }),
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { errors: unknown[] }).errors).toHaveLength(1);
    const server = await recorder.waitForServerSpan('/graphql');
    const [operation] = recorder.byName('query');
    const [resolver] = recorder.byName('CandidateResolver.candidate');
    for (const span of [server, operation, resolver]) expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'candidate store unavailable' });
    expect(server.attributes['http.response.status_code']).toBe(200);
  });
});
