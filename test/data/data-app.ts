/**
 * A Nest service that talks to real PostgreSQL, MariaDB and Redis servers, started as a child process by
 * `data-spans.e2e-spec.ts`. Compiled to CommonJS (`tsconfig.json` beside it), as most Nest apps are, so that Nest
 * 12 is loaded through require(esm). Written as apps are written: TypeORM data sources made at start-up (TypeORM
 * loads `pg` and `mysql2` then), and node-postgres and ioredis imported at the top of the file.
 *
 * It also emits and consumes an event over RabbitMQ through @nestjs/microservices (amqplib underneath), and queues
 * jobs with BullMQ, which talks to Redis through an ioredis connection of its own. Reviews live in MongoDB, read
 * through Mongoose and written with the driver directly. Exports go to Kafka through Nest's Kafka client (kafkajs
 * underneath), as a producer only.
 *
 * FIXTURE_START: `forRoot`, `forRootAsync`, or `preload` (started with `-r nestjs-tracing/register`; the module
 * then adopts the running SDK). Servers: PG_PORT, MYSQL_PORT, REDIS_PORT on 127.0.0.1, user and password `shop`;
 * RMQ_PORT, user `guest`; MONGO_PORT, no user; KAFKA_PORT.
 * Prints `listening <port>` once ready.
 */
import 'reflect-metadata';
import { Controller, Get, HttpCode, Inject, Module, Param, ParseIntPipe, Post, Query, type OnApplicationShutdown, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientProxyFactory, EventPattern, Payload, Transport, type ClientProxy, type RmqOptions } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { OtelModule, type OtelModuleOptions } from 'nestjs-tracing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import { model, Schema, connect as connectMongoose, disconnect as disconnectMongoose } from 'mongoose';
import { Pool } from 'pg';
import { createClient } from 'redis';
import { Column, DataSource, Entity, PrimaryColumn } from 'typeorm';

const start = process.env.FIXTURE_START ?? 'forRoot';
const PG = 'PG_DATA_SOURCE';
const MYSQL = 'MYSQL_DATA_SOURCE';
const EVENTS = 'SHOP_EVENTS';
const EXPORTS = 'SHOP_EXPORTS';
const rmq: RmqOptions = {
  transport: Transport.RMQ,
  options: { urls: [`amqp://guest:guest@127.0.0.1:${process.env.RMQ_PORT}`], queue: 'shop_events', queueOptions: { durable: false } },
};

@Entity('orders')
class Order {
  @PrimaryColumn({ type: 'int' })
  id!: number;

  @Column({ type: 'varchar', length: 32 })
  status!: string;

  @Column({ type: 'int' })
  total!: number;
}

@Entity('payments')
class Payment {
  @PrimaryColumn({ type: 'int' })
  orderId!: number;

  @Column({ type: 'varchar', length: 64 })
  card!: string;
}

@Entity('customers')
class Customer {
  @PrimaryColumn({ type: 'int' })
  id!: number;

  @Column({ type: 'varchar', length: 128 })
  email!: string;
}

const connection = { host: '127.0.0.1', username: 'shop', password: 'shop', database: 'shop' };

async function postgresSource(): Promise<DataSource> {
  const source = new DataSource({ type: 'postgres', ...connection, port: Number(process.env.PG_PORT), entities: [Order, Payment], synchronize: true });
  await source.initialize();
  await source.getRepository(Order).save({ id: 42, status: 'open', total: 1999 });
  return source;
}

async function mysqlSource(): Promise<DataSource> {
  const source = new DataSource({ type: 'mysql', ...connection, port: Number(process.env.MYSQL_PORT), entities: [Customer], synchronize: true });
  await source.initialize();
  await source.getRepository(Customer).save({ id: 7, email: 'carol@example.com' });
  return source;
}

/** The pool and client a service imports at the top of its file, as most do. */
const pool = new Pool({ ...connection, user: 'shop', port: Number(process.env.PG_PORT), max: 2 });
const redis = new Redis({ host: '127.0.0.1', port: Number(process.env.REDIS_PORT), maxRetriesPerRequest: 1 });
/** node-redis beside ioredis, as apps that use both (a session store and a cache) have. */
const sessions = createClient({ url: `redis://127.0.0.1:${process.env.REDIS_PORT}` });
const mongoUrl = `mongodb://127.0.0.1:${process.env.MONGO_PORT}/shop`;
/** The driver itself, beside Mongoose, as services that write with one and read with the other have. */
const mongo = new MongoClient(mongoUrl, { serverSelectionTimeoutMS: 5000 });
const Review = model('Review', new Schema({ sku: String, author: String, stars: Number }));
/** A BullMQ queue for work done later by a worker; it opens its own ioredis connection. */
const reminders = new Queue('reminders', { connection: { host: '127.0.0.1', port: Number(process.env.REDIS_PORT) } });

@Controller()
class ShopController implements OnApplicationShutdown {
  constructor(
    @Inject(PG) private readonly postgres: DataSource,
    @Inject(MYSQL) private readonly mysql: DataSource,
    @Inject(EVENTS) private readonly events: ClientProxy,
    @Inject(EXPORTS) private readonly exports: ClientProxy,
  ) {}

  @Post('orders/:id/ship')
  @HttpCode(202)
  async ship(@Param('id', ParseIntPipe) id: number) {
    await lastValueFrom(this.events.emit('order.shipped', { id }));
    return { shipping: id };
  }

  @EventPattern('order.shipped')
  async shipped(@Payload() event: { id: number }) {
    await this.postgres.getRepository(Order).update({ id: event.id }, { status: 'shipped' });
  }

  @Get('orders/:id')
  order(@Param('id', ParseIntPipe) id: number) {
    return this.postgres.getRepository(Order).findOneBy({ id });
  }

  @Post('orders/:id/pay')
  @HttpCode(200)
  async pay(@Param('id', ParseIntPipe) id: number, @Query('card') card: string) {
    await this.postgres.transaction(async (manager) => {
      await manager.getRepository(Order).update({ id }, { status: 'paid' });
      await manager.getRepository(Payment).save({ orderId: id, card });
    });
    return { paid: id };
  }

  @Get('orders-broken')
  broken(@Query('email') email: string) {
    return this.postgres.query('SELECT * FROM missing_table WHERE email = $1', [email]);
  }

  @Get('lookup')
  async lookup(@Query('email') email: string) {
    const result = await pool.query<{ email: string }>('SELECT $1::text AS email', [email]);
    return result.rows[0];
  }

  @Get('cart/:user')
  async cart(@Param('user') user: string, @Query('item') item: string) {
    await redis.set(`cart:${user}`, item, 'EX', 60);
    return { item: await redis.get(`cart:${user}`) };
  }

  @Get('session/:user')
  async session(@Param('user') user: string, @Query('token') token: string) {
    await sessions.hSet(`session:${user}`, 'token', token);
    return { stored: (await sessions.hGet(`session:${user}`, 'token')) === token };
  }

  @Post('orders/:id/remind')
  @HttpCode(202)
  async remind(@Param('id', ParseIntPipe) id: number, @Query('email') email: string) {
    const job = await reminders.add('payment-reminder', { orderId: id, email });
    return { queued: job.id };
  }

  @Get('reviews/:sku')
  reviews(@Param('sku') sku: string, @Query('email') email: string) {
    return Review.find({ sku, author: email }).lean();
  }

  @Post('reviews/:sku')
  @HttpCode(201)
  async review(@Param('sku') sku: string, @Query('email') email: string) {
    const result = await mongo.db('shop').collection('reviews').insertOne({ sku, author: email, stars: 5 });
    return { id: String(result.insertedId) };
  }

  @Get('reviews-broken')
  brokenReviews(@Query('email') email: string) {
    return mongo.db('shop').collection('broken').findOne({ author: email });
  }

  @Post('orders/:id/export')
  @HttpCode(202)
  async export(@Param('id', ParseIntPipe) id: number, @Query('email') email: string) {
    await lastValueFrom(this.exports.emit('orders.exported', { id, email }));
    return { exported: id };
  }

  @Get('customers/:id')
  customer(@Param('id', ParseIntPipe) id: number, @Query('email') email: string) {
    return this.mysql.getRepository(Customer).findOneBy({ id, email });
  }

  async onApplicationShutdown() {
    await Promise.allSettled([this.postgres.destroy(), this.mysql.destroy(), pool.end(), redis.quit(), sessions.quit(), reminders.close(), mongo.close(), disconnectMongoose(), this.events.close(), this.exports.close()]);
  }
}

const options: OtelModuleOptions = { warnOnMissingShutdownHooks: false };

function otelModule(): DynamicModule {
  if (start === 'forRootAsync') return OtelModule.forRootAsync({ useFactory: async () => options });
  return OtelModule.forRoot(options);
}

@Module({
  imports: [otelModule()],
  controllers: [ShopController],
  providers: [
    { provide: PG, useFactory: postgresSource },
    { provide: MYSQL, useFactory: mysqlSource },
    { provide: EVENTS, useFactory: () => ClientProxyFactory.create(rmq) },
    {
      provide: EXPORTS,
      useFactory: () =>
        ClientProxyFactory.create({
          transport: Transport.KAFKA,
          options: { client: { clientId: 'shop', brokers: [`127.0.0.1:${process.env.KAFKA_PORT}`] }, producerOnlyMode: true },
        }),
    },
  ],
})
class AppModule {}

async function main() {
  await Promise.all([sessions.connect(), mongo.connect(), connectMongoose(mongoUrl, { serverSelectionTimeoutMS: 5000 })]);
  const app = await NestFactory.create(AppModule, { logger: ['warn', 'error'] });
  app.enableShutdownHooks();
  // A hybrid app: the RabbitMQ consumer is connected without inheritAppConfig, as most apps do.
  app.connectMicroservice<RmqOptions>(rmq);
  await app.startAllMicroservices();
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  process.stdout.write(`listening ${address.port}\n`);
}

void main();
