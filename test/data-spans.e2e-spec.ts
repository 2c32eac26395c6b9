import { join } from 'node:path';
import { ROOT, startChildApp, type ChildApp } from './support/child-app.js';
import { OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver.js';
import { nest11Install, nest12Install, type NestInstall } from './support/nest-installs.js';
import { startMariaDb, startPostgres, startRabbitMq, startRedis, type DatabaseServer } from './support/servers.js';
import { MongoDouble } from './support/mongo-double.js';
import { KafkaDouble } from './support/kafka-double.js';

const COMPILED = join(ROOT, 'build/data/data-app.js');

/** Values sent as query parameters; none may appear in any span. */
const SECRETS = { email: 'dora.secret@example.org', card: '4111111111111111', item: 'gift-for-dora', customer: 'carol@example.com' };

type StartOrder = 'preload' | 'forRoot' | 'forRootAsync';

/** A log line without its colours. */
// eslint-disable-next-line no-control-regex
const plain = (line: string) => line.replace(/\x1b\[[0-9;]*m/g, '');

const descendantsOf = (spans: ReceivedSpan[], root: ReceivedSpan): ReceivedSpan[] => {
  const children = spans.filter((s) => s.parentSpanId === root.spanId);
  return children.flatMap((child) => [child, ...descendantsOf(spans, child)]);
};

describe('database, cache and queue spans against real servers', () => {
  let receiver: OtlpReceiver;
  let servers: { postgres: DatabaseServer; mariadb: DatabaseServer; redis: DatabaseServer; rabbitmq: DatabaseServer; mongo: MongoDouble; kafka: KafkaDouble };

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
    const [postgres, mariadb, redis, rabbitmq, mongo, kafka] = await Promise.all([
      startPostgres(),
      startMariaDb(),
      startRedis(),
      startRabbitMq(),
      MongoDouble.start(),
      KafkaDouble.start(),
    ]);
    servers = { postgres, mariadb, redis, rabbitmq, mongo, kafka };
  }, 120_000);

  afterAll(async () => {
    await Promise.all(Object.values(servers ?? {}).map((server) => server.stop()));
    await receiver?.stop();
  });

  async function startShop(install: NestInstall, service: string, order: StartOrder): Promise<ChildApp> {
    return startChildApp(
      install.script,
      {
        FIXTURE_START: order === 'preload' ? 'forRoot' : order,
        OTEL_SERVICE_NAME: service,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_BSP_SCHEDULE_DELAY: '50',
        PG_PORT: String(servers.postgres.port),
        MYSQL_PORT: String(servers.mariadb.port),
        REDIS_PORT: String(servers.redis.port),
        RMQ_PORT: String(servers.rabbitmq.port),
        MONGO_PORT: String(servers.mongo.port),
        KAFKA_PORT: String(servers.kafka.port),
        KAFKAJS_NO_PARTITIONER_WARNING: '1',
      },
      order === 'preload' ? ['-r', 'nestjs-tracing/register'] : [],
    );
  }

  /** Sends a request and returns the spans of its trace once the handler span and `settle` spans arrived. */
  async function traceOf(app: ChildApp, service: string, method: string, path: string, settle: (spans: ReceivedSpan[]) => boolean): Promise<ReceivedSpan[]> {
    const response = await fetch(`${app.url}${path}`, { method });
    await response.text();
    const isServer = (s: ReceivedSpan) => s.kind === 'SERVER' && s.resource['service.name'] === service && s.attributes['url.path'] === path.split('?')[0];
    const spans = await receiver.waitFor((all) => {
      const server = all.find(isServer);
      return server !== undefined && settle(all.filter((s) => s.traceId === server.traceId));
    });
    const server = spans.find(isServer)!;
    return spans.filter((s) => s.traceId === server.traceId);
  }

  describe.each([
    ['Nest 12', 'preload', nest12Install],
    ['Nest 12', 'forRoot', nest12Install],
    ['Nest 12', 'forRootAsync', nest12Install],
    ['Nest 11', 'preload', nest11Install],
    ['Nest 11', 'forRoot', nest11Install],
    ['Nest 11', 'forRootAsync', nest11Install],
  ] as const)('%s started with %s', (nest, order, install) => {
    let app: ChildApp;
    let installed: NestInstall;
    const service = `shop-${nest.replace(' ', '')}-${order}`;

    beforeAll(async () => {
      installed = install(COMPILED);
      app = await startShop(installed, service, order);
    }, 60_000);

    afterAll(async () => {
      await app?.stop();
      installed?.cleanup();
    });

    const handlerOf = (spans: ReceivedSpan[], name: string) => spans.find((s) => s.name === name)!;
    const sqlUnder = (spans: ReceivedSpan[], handler: ReceivedSpan, system: string) =>
      descendantsOf(spans, handler).filter((s) => s.attributes['db.system.name'] === system && typeof s.attributes['db.query.text'] === 'string');

    it('gives a TypeORM repository read on PostgreSQL a CLIENT span under the handler span', async () => {
      const spans = await traceOf(app, service, 'GET', '/orders/42', (t) => t.some((s) => s.attributes['db.query.text'] !== undefined));
      const handler = handlerOf(spans, 'ShopController.order');
      const [query] = sqlUnder(spans, handler, 'postgresql');
      expect(query).toMatchObject({ kind: 'CLIENT', status: { code: 'UNSET' } });
      expect(query.attributes).toMatchObject({
        'db.system.name': 'postgresql',
        'db.namespace': 'shop',
        'db.operation.name': 'SELECT',
        'server.address': '127.0.0.1',
        'server.port': servers.postgres.port,
      });
      expect(query.attributes['db.query.text']).toMatch(/^SELECT .* FROM "orders" .*WHERE .*\$1/);
    });

    it('traces every statement of a TypeORM transaction, in order, under the handler span', async () => {
      const spans = await traceOf(app, service, 'POST', `/orders/42/pay?card=${SECRETS.card}`, (t) => t.some((s) => s.attributes['db.query.text'] === 'COMMIT'));
      const statements = sqlUnder(spans, handlerOf(spans, 'ShopController.pay'), 'postgresql')
        .sort((a, b) => a.startMillis - b.startMillis)
        .map((s) => String(s.attributes['db.query.text']).split(' ')[0]);
      // START TRANSACTION, the order's UPDATE, the payment's save (SELECT, then INSERT or UPDATE), COMMIT.
      expect(statements[0]).toBe('START');
      expect(statements.at(-1)).toBe('COMMIT');
      expect(statements).toContain('UPDATE');
      expect(statements.length).toBeGreaterThanOrEqual(4);
      expect(JSON.stringify(spans.filter((s) => s.attributes['db.system.name']).map((s) => s.attributes))).not.toContain(SECRETS.card.slice(4));
    });

    it('marks a failing query ERROR with the SQL error code as its type', async () => {
      const spans = await traceOf(app, service, 'GET', `/orders-broken?email=${SECRETS.email}`, (t) => t.some((s) => s.status.code === 'ERROR' && s.attributes['db.system.name'] !== undefined));
      const [failed] = sqlUnder(spans, handlerOf(spans, 'ShopController.broken'), 'postgresql');
      expect(failed.status.code).toBe('ERROR');
      expect(failed.attributes['error.type']).toBe('42P01');
      expect(failed.events.map((e) => e.name)).toContain('exception');
    });

    it('traces node-postgres used directly, without the parameter values', async () => {
      const spans = await traceOf(app, service, 'GET', `/lookup?email=${SECRETS.email}`, (t) => t.some((s) => s.attributes['db.query.text'] !== undefined));
      const [query] = sqlUnder(spans, handlerOf(spans, 'ShopController.lookup'), 'postgresql');
      expect(query.attributes['db.query.text']).toBe('SELECT $1::text AS email');
      expect(JSON.stringify(spans.map((s) => [s.name, s.attributes, s.events]))).not.toContain('dora.secret');
    });

    it('traces ioredis with the key and without the value', async () => {
      const spans = await traceOf(app, service, 'GET', `/cart/dora?item=${SECRETS.item}`, (t) => t.filter((s) => s.attributes['db.system.name'] === 'redis').length >= 2);
      const commands = descendantsOf(spans, handlerOf(spans, 'ShopController.cart')).filter((s) => s.attributes['db.system.name'] === 'redis');
      const statements = commands.map((s) => s.attributes['db.query.text']);
      expect(statements.filter((text) => text === 'SET cart:dora ? ? ?')).toHaveLength(1);
      expect(statements.filter((text) => text === 'GET cart:dora')).toHaveLength(1);
      expect(commands[0]).toMatchObject({ kind: 'CLIENT' });
      expect(commands[0].attributes).toMatchObject({ 'server.address': '127.0.0.1', 'server.port': servers.redis.port });
      expect(JSON.stringify(commands.map((s) => s.attributes))).not.toContain(SECRETS.item);
    });

    it('keeps one trace from an event emitted over RabbitMQ to its consumer, with amqplib spans on both sides', async () => {
      const isRabbit = (s: ReceivedSpan) => s.scope === '@opentelemetry/instrumentation-amqplib';
      const spans = await traceOf(app, service, 'POST', '/orders/42/ship', (t) =>
        ['PRODUCER', 'CONSUMER'].every((kind) => t.some((s) => isRabbit(s) && s.kind === kind)) &&
        t.some((s) => s.name === 'ShopController.shipped' && descendantsOf(t, s).some((q) => q.attributes['db.query.text'] !== undefined)),
      );
      const rabbit = spans.filter(isRabbit);
      const publish = rabbit.find((s) => s.kind === 'PRODUCER')!;
      const consume = rabbit.find((s) => s.kind === 'CONSUMER')!;
      expect(publish.name).toBe('publish <default>');
      expect(consume.name).toBe('shop_events process');
      // The connection's attributes come from amqplib's connect function, which the RabbitMQ client took before a
      // late patch (forRootAsync) could wrap it: there they are missing, as the warning about amqplib says.
      if (order !== 'forRootAsync') expect(publish.attributes).toMatchObject({ 'messaging.system': 'rabbitmq', 'server.address': '127.0.0.1' });
      expect(descendantsOf(spans, handlerOf(spans, 'ShopController.ship'))).toContainEqual(publish);
      expect(spans.find((s) => s.spanId === consume.parentSpanId)).toBeDefined();
      const consumer = handlerOf(spans, 'ShopController.shipped');
      expect(sqlUnder(spans, consumer, 'postgresql').map((s) => String(s.attributes['db.query.text']).split(' ')[0])).toContain('UPDATE');
      expect(JSON.stringify(rabbit.map((s) => s.attributes))).not.toContain('"id":42');
    });

    it('warns once for each driver loaded before tracing started, and never after a preload', () => {
      const warned = app.output().split('\n').filter((line) => line.includes('was loaded before'));
      // The app imports pg, ioredis, node-redis, mongodb and mongoose at the top of its file; TypeORM loads mysql2 when its data
      // source is made, and Nest's RabbitMQ client loads amqplib when it is made: forRoot precedes them, forRootAsync's factory
      // follows.
      const top = ['pg', 'ioredis', 'redis', 'mongodb', 'mongoose'];
      // Nest 11's Kafka client requires kafkajs when it is made; Nest 12's imports it when it connects, by which time the
      // library has loaded it patched (an import() would bypass the require hook).
      const made = nest === 'Nest 11' ? ['mysql2', 'amqplib', 'kafkajs'] : ['mysql2', 'amqplib'];
      const early = { preload: [], forRoot: top, forRootAsync: [...top, ...made] }[order];
      const drivers = warned.map((line) => new RegExp(`\\] (\\S+) was loaded before OtelModule\\.${order} `).exec(plain(line))?.[1]);
      expect(drivers.sort()).toEqual([...early].sort());
      for (const line of warned) expect(line).toContain('node -r nestjs-tracing/register dist/main.js');
    });

    it('traces node-redis with the key and without the value', async () => {
      const spans = await traceOf(app, service, 'GET', `/session/dora?token=${SECRETS.item}`, (t) => t.filter((s) => s.scope === '@opentelemetry/instrumentation-redis').length >= 2);
      const commands = descendantsOf(spans, handlerOf(spans, 'ShopController.session')).filter((s) => s.scope === '@opentelemetry/instrumentation-redis');
      expect(commands.map((s) => s.attributes['db.query.text'])).toEqual(['HSET session:dora ? ?', 'HGET session:dora ?']);
      expect(commands[0]).toMatchObject({ kind: 'CLIENT', attributes: expect.objectContaining({ 'db.system.name': 'redis', 'server.port': servers.redis.port }) });
      expect(JSON.stringify(commands.map((s) => s.attributes))).not.toContain(SECRETS.item);
    });

    it('traces the Redis commands of a BullMQ job added in a handler under its span, without the job data', async () => {
      const isRedis = (s: ReceivedSpan) => s.attributes['db.system.name'] === 'redis';
      const spans = await traceOf(app, service, 'POST', `/orders/42/remind?email=${SECRETS.email}`, (t) => t.some((s) => isRedis(s) && /^EVAL/.test(String(s.attributes['db.query.text']))));
      const commands = descendantsOf(spans, handlerOf(spans, 'ShopController.remind')).filter(isRedis);
      // BullMQ adds a job with a Lua script: EVALSHA, or EVAL when Redis does not know the script yet.
      const scripts = commands.filter((s) => /^EVAL(SHA)? /.test(String(s.attributes['db.query.text'])));
      expect(scripts.length).toBeGreaterThanOrEqual(1);
      for (const script of scripts) expect(String(script.attributes['db.query.text'])).toMatch(/^EVAL(SHA)?( \?)+$/);
      expect(scripts[0]).toMatchObject({ kind: 'CLIENT', attributes: expect.objectContaining({ 'server.port': servers.redis.port }) });
      expect(JSON.stringify(spans.map((s) => [s.attributes, s.events]))).not.toContain('dora.secret');
    });

    const isMongo = (s: ReceivedSpan) => s.attributes['db.system.name'] === 'mongodb';

    it('traces a Mongoose read as one CLIENT span under the handler span, the driver span beneath it suppressed', async () => {
      const spans = await traceOf(app, service, 'GET', `/reviews/sku-1?email=${SECRETS.email}`, (t) => t.some(isMongo));
      const reads = descendantsOf(spans, handlerOf(spans, 'ShopController.reviews')).filter(isMongo);
      expect(reads).toHaveLength(1);
      expect(reads[0]).toMatchObject({ name: 'find reviews', kind: 'CLIENT', scope: '@opentelemetry/instrumentation-mongoose' });
      expect(reads[0].attributes).toMatchObject({
        'db.namespace': 'shop',
        'db.collection.name': 'reviews',
        'db.operation.name': 'find',
        'server.address': '127.0.0.1',
        'server.port': servers.mongo.port,
      });
      expect(servers.mongo.received).toContain('find');
      expect(JSON.stringify(spans.map((s) => [s.attributes, s.events]))).not.toContain('dora.secret');
    });

    it('traces the MongoDB driver used directly, with every value of the statement masked', async () => {
      const spans = await traceOf(app, service, 'POST', `/reviews/sku-2?email=${SECRETS.email}`, (t) => t.some(isMongo));
      const [insert] = descendantsOf(spans, handlerOf(spans, 'ShopController.review')).filter(isMongo);
      expect(insert).toMatchObject({ name: 'insert reviews', kind: 'CLIENT', scope: '@opentelemetry/instrumentation-mongodb', status: { code: 'UNSET' } });
      expect(insert.attributes).toMatchObject({ 'db.operation.name': 'insert', 'db.collection.name': 'reviews', 'server.port': servers.mongo.port });
      expect(JSON.parse(String(insert.attributes['db.query.text']))).toEqual({ sku: '?', author: '?', stars: '?', _id: '?' });
      expect(JSON.stringify(spans.map((s) => [s.attributes, s.events]))).not.toContain('dora.secret');
    });

    it('marks a MongoDB command the server refused ERROR', async () => {
      const spans = await traceOf(app, service, 'GET', `/reviews-broken?email=${SECRETS.email}`, (t) => t.some(isMongo));
      const [find] = descendantsOf(spans, handlerOf(spans, 'ShopController.brokenReviews')).filter(isMongo);
      expect(find).toMatchObject({ name: 'find broken', kind: 'CLIENT', status: { code: 'ERROR', message: 'find on broken is refused' } });
      expect(find.attributes['error.type']).toBeDefined();
    });

    it('traces a Kafka event sent from a handler with a PRODUCER span whose context the record carries', async () => {
      const isKafka = (s: ReceivedSpan) => s.scope === '@opentelemetry/instrumentation-kafkajs';
      const spans = await traceOf(app, service, 'POST', `/orders/42/export?email=${SECRETS.email}`, (t) => t.some(isKafka));
      const [send] = descendantsOf(spans, handlerOf(spans, 'ShopController.export')).filter(isKafka);
      expect(send).toMatchObject({ kind: 'PRODUCER', status: { code: 'UNSET' } });
      expect(send.name).toContain('orders.exported');
      expect(send.attributes).toMatchObject({ 'messaging.system': 'kafka', 'messaging.destination.name': 'orders.exported' });
      // What a consumer would read: the record, with the producer span as the parent of whatever processes it.
      const record = servers.kafka.records.find((r) => r.topic === 'orders.exported' && r.headers.traceparent?.includes(send.traceId));
      expect(record?.headers.traceparent).toMatch(new RegExp(`^00-${send.traceId}-${send.spanId}-0[13]$`));
      expect(JSON.parse(String(record?.value))).toEqual({ id: 42, email: SECRETS.email });
      expect(JSON.stringify(spans.map((s) => [s.attributes, s.events]))).not.toContain('dora.secret');
    });

    it('traces mysql2 through TypeORM on MariaDB with the statement masked', async () => {
      const spans = await traceOf(app, service, 'GET', `/customers/7?email=${SECRETS.customer}`, (t) => t.some((s) => s.attributes['db.system.name'] === 'mysql'));
      const [query] = descendantsOf(spans, handlerOf(spans, 'ShopController.customer')).filter((s) => s.attributes['db.system.name'] === 'mysql');
      expect(query).toMatchObject({ kind: 'CLIENT' });
      expect(query.attributes).toMatchObject({ 'db.namespace': 'shop', 'server.port': servers.mariadb.port });
      expect(query.attributes['db.query.text']).toMatch(/^SELECT .*FROM `customers`/);
      expect(JSON.stringify(spans.filter((s) => s.attributes['db.system.name']).map((s) => s.attributes))).not.toContain('carol');
    });
  });

  describe.each([
    ['node --import nestjs-tracing/register', ['--import', 'nestjs-tracing/register'], 'esm-preload'],
    ['OtelModule.forRoot alone', [], 'esm-forRoot'],
  ] as const)('an ES module app started with %s', (_, nodeArgs, service) => {
    let app: ChildApp;

    beforeAll(async () => {
      app = await startChildApp(
        join(ROOT, 'build/fixtures/data-esm-app.js'),
        {
          OTEL_SERVICE_NAME: service,
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
          OTEL_BSP_SCHEDULE_DELAY: '50',
          PG_PORT: String(servers.postgres.port),
          REDIS_PORT: String(servers.redis.port),
        },
        [...nodeArgs],
      );
    }, 60_000);

    afterAll(async () => {
      await app?.stop();
    });

    it('traces node-postgres and ioredis imported at the top of the app', async () => {
      const lookup = await traceOf(app, service, 'GET', `/lookup?email=${SECRETS.email}`, (t) => t.some((s) => s.attributes['db.system.name'] === 'postgresql'));
      const handler = lookup.find((s) => s.name === 'ShopController.lookup')!;
      expect(descendantsOf(lookup, handler).map((s) => s.attributes['db.query.text'])).toContain('SELECT $1::text AS email');
      const cart = await traceOf(app, service, 'GET', `/cart/dora?item=${SECRETS.item}`, (t) => t.some((s) => s.attributes['db.query.text'] === 'GET cart:dora'));
      const statements = descendantsOf(cart, cart.find((s) => s.name === 'ShopController.cart')!).map((s) => s.attributes['db.query.text']);
      expect(statements).toEqual(expect.arrayContaining(['SET cart:dora ? ? ?', 'GET cart:dora']));
    });

    it(service === 'esm-preload' ? 'warns about nothing' : 'patches the drivers late and warns once about each', () => {
      const warned = app.output().split('\n').filter((line) => line.includes('was loaded before'));
      if (service === 'esm-preload') expect(warned).toEqual([]);
      else expect(warned.map((line) => /\] (\S+) was loaded before/.exec(plain(line))?.[1]).sort()).toEqual(['ioredis', 'pg']);
    });
  });
});
