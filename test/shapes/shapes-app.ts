/**
 * One Nest application in the shapes people run, started as a child process by `app-shapes.e2e-spec.ts` on
 * Nest 12 and on Nest 11. Compiled to CommonJS (`tsconfig.json` beside it), as most Nest apps are, so that Nest 12
 * is loaded through require(esm). `SHAPE` picks the shape:
 * - `hybrid`: HTTP (Express) with a TCP microservice connected without `inheritAppConfig`, a socket.io gateway,
 *   GraphQL (Apollo) and a global ValidationPipe;
 * - `ws`: HTTP with a gateway on the `ws` platform;
 * - `standalone`: a TCP microservice made by `NestFactory.createMicroservice()`.
 * Prints `listening <port>` once ready; traces go to `OTEL_EXPORTER_OTLP_ENDPOINT`.
 */
import 'reflect-metadata';
import {
  BadRequestException,
  Body,
  Controller,
  Get,
  Inject,
  Injectable,
  Module,
  Param,
  ParseIntPipe,
  Post,
  Query as QueryParam,
  UseGuards,
  ValidationPipe,
  type CanActivate,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Args, GraphQLModule, Query, Resolver } from '@nestjs/graphql';
import { ClientProxyFactory, EventPattern, MessagePattern, Transport, type ClientProxy } from '@nestjs/microservices';
import { WsAdapter } from '@nestjs/platform-ws';
import { MessageBody, SubscribeMessage, WebSocketGateway, type WsResponse } from '@nestjs/websockets';
import { IsInt, IsString, Max, MaxLength } from 'class-validator';
import { OtelModule, TraceService } from 'nestjs-tracing';
import type { AddressInfo } from 'node:net';
import { firstValueFrom, interval, map, take, type Observable } from 'rxjs';

const shape = process.env.SHAPE ?? 'hybrid';
const tcpPort = Number(process.env.TCP_PORT);
const tracing = OtelModule.forRoot({ serviceName: `shapes-${shape}` });

@Controller()
class MathController {
  @MessagePattern({ cmd: 'sum' })
  sum(data: number[]) {
    return data.reduce((total, n) => total + n, 0);
  }

  @MessagePattern({ cmd: 'fail' })
  fail(): never {
    throw new Error('ledger write failed');
  }

  @EventPattern('item.viewed')
  viewed(data: unknown) {
    return data;
  }
}

@Injectable()
class DenyGuard implements CanActivate {
  canActivate() {
    return false;
  }
}

class CreateItemDto {
  @IsString()
  @MaxLength(5)
  name!: string;
}

@Controller()
class ItemsController {
  constructor(
    @Inject('MATH') private readonly math: ClientProxy,
    private readonly traces: TraceService,
  ) {}

  @Get('items/:id')
  findOne(@Param('id', ParseIntPipe) id: number) {
    return { id };
  }

  @Get('vault')
  @UseGuards(DenyGuard)
  vault() {
    return { open: true };
  }

  @Post('items')
  create(@Body() item: CreateItemDto) {
    return item;
  }

  /** Calls a service on 127.0.0.1 with Node's `http` client, with baggage in the context. */
  @Get('relay')
  async relay(@QueryParam('port') port: string) {
    // Required here, as CommonJS code requires it: instrumentation-http patches `http` when it is required.
    const http = require('node:http') as typeof import('node:http');
    await this.traces.withBaggage({ 'user.tier': 'gold' }, () =>
      new Promise<void>((resolve, reject) => http.get(`http://127.0.0.1:${port}/relayed`, (r) => r.resume().on('end', resolve)).on('error', reject)),
    );
    return { relayed: true };
  }

  @Get('sum')
  async sum() {
    return { sum: await firstValueFrom(this.math.send<number>({ cmd: 'sum' }, [1, 2, 3])) };
  }
}

class ItemsArgs {
  @IsInt()
  @Max(10)
  take!: number;
}

@Resolver('Item')
class ItemsResolver {
  @Query('items')
  items(@Args() args: ItemsArgs) {
    return Array.from({ length: args.take }, (_, i) => ({ id: i, name: `item-${i}` }));
  }

  @Query('item')
  item(@Args('id') id: number) {
    if (id === 500) throw new Error('item store unavailable');
    if (id === 404) throw new BadRequestException('no such item');
    return { id, name: `item-${id}` };
  }
}

@WebSocketGateway()
class EventsGateway {
  @SubscribeMessage('count')
  count(@MessageBody() upTo: number): Observable<WsResponse<number>> {
    return interval(5).pipe(
      take(upTo),
      map((i) => ({ event: 'tick', data: i + 1 })),
    );
  }

  @SubscribeMessage('echo')
  async echo(@MessageBody() text: string): Promise<WsResponse<string>> {
    await new Promise((resolve) => setTimeout(resolve, 5));
    return { event: 'echoed', data: text.toUpperCase() };
  }
}

const mathClient = { provide: 'MATH', useFactory: () => ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port: tcpPort } }) };

@Module({
  imports: [
    tracing,
    GraphQLModule.forRoot<ApolloDriverConfig>({
      driver: ApolloDriver,
      typeDefs: 'type Item { id: Int!, name: String! }\ntype Query { items(take: Int!): [Item!]!, item(id: Int!): Item }',
    }),
  ],
  controllers: [ItemsController, MathController],
  providers: [DenyGuard, EventsGateway, ItemsResolver, mathClient],
})
class HybridModule {}

@Module({ imports: [tracing], providers: [EventsGateway] })
class WsModule {}

@Module({ imports: [tracing], controllers: [MathController] })
class StandaloneModule {}

async function main(): Promise<number> {
  if (shape === 'standalone') {
    const service = await NestFactory.createMicroservice(StandaloneModule, { transport: Transport.TCP, options: { host: '127.0.0.1', port: tcpPort }, logger: false });
    service.enableShutdownHooks();
    await service.listen();
    return tcpPort;
  }
  const app = await NestFactory.create(shape === 'ws' ? WsModule : HybridModule, { logger: false });
  app.enableShutdownHooks();
  if (shape === 'ws') {
    app.useWebSocketAdapter(new WsAdapter(app));
  } else {
    app.useGlobalPipes(new ValidationPipe());
    // No inheritAppConfig: most hybrid apps leave it out, and their messages must be traced all the same.
    app.connectMicroservice({ transport: Transport.TCP, options: { host: '127.0.0.1', port: tcpPort } });
    await app.startAllMicroservices();
  }
  await app.listen(0, '127.0.0.1');
  return (app.getHttpServer().address() as AddressInfo).port;
}

main().then(
  (port) => console.log(`listening ${port}`),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
