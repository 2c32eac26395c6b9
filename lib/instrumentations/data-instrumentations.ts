import type { Instrumentation } from '@opentelemetry/instrumentation';
import { createRequire } from 'node:module';
import { requireEsModule } from '../es-module-require.js';
import { appPackageMajor, appRoots, resolveFromApp } from './app-packages.js';
import { redisStatement } from './redis-statement.js';

/** The database, cache and queue instrumentations the library turns on when the app has their driver. */
export const DATA_INSTRUMENTATION_NAMES = ['pg', 'mysql2', 'mongodb', 'mongoose', 'ioredis', 'redis', 'kafkajs', 'amqplib', 'prisma'] as const;
/** The name of one of them, as `OTEL_NODE_DISABLED_INSTRUMENTATIONS` spells it. */
export type DataInstrumentationName = (typeof DATA_INSTRUMENTATION_NAMES)[number];

interface CatalogueEntry {
  /** Packages whose presence in the application turns the instrumentation on. */
  readonly drivers: readonly string[];
  /** Builds the instrumentation, configured to record no parameter values. */
  create(): Instrumentation;
}

/** For the app's own `@prisma/instrumentation`, resolved from the app. */
const requireFromHere = createRequire(import.meta.url);

/** Each instrumentation package is loaded only when its driver is installed: an app without a database loads none. */
const CATALOGUE: Record<Exclude<DataInstrumentationName, 'prisma'>, CatalogueEntry> = {
  pg: {
    drivers: ['pg'],
    // enhancedDatabaseReporting would record the parameter values.
    create: () => new (requireEsModule<typeof import('@opentelemetry/instrumentation-pg')>('@opentelemetry/instrumentation-pg').PgInstrumentation)({ enhancedDatabaseReporting: false }),
  },
  mysql2: {
    drivers: ['mysql2'],
    // mysql2 formats parameter values into the statement it records, unless it is masked.
    create: () => new (requireEsModule<typeof import('@opentelemetry/instrumentation-mysql2')>('@opentelemetry/instrumentation-mysql2').MySQL2Instrumentation)({ maskStatement: true }),
  },
  mongodb: {
    drivers: ['mongodb'],
    create: () => new (requireEsModule<typeof import('@opentelemetry/instrumentation-mongodb')>('@opentelemetry/instrumentation-mongodb').MongoDBInstrumentation)({ enhancedDatabaseReporting: false }),
  },
  mongoose: {
    drivers: ['mongoose'],
    // Mongoose runs each operation through the driver, whose instrumentation would trace it a second time, one
    // level down: the Mongoose span (model, operation, collection) is kept, the driver's beneath it suppressed.
    // The driver used directly is still traced. Mongoose records no statement unless given a serializer.
    create: () =>
      new (requireEsModule<typeof import('@opentelemetry/instrumentation-mongoose')>('@opentelemetry/instrumentation-mongoose').MongooseInstrumentation)({
        suppressInternalInstrumentation: true,
      }),
  },
  ioredis: {
    drivers: ['ioredis'],
    create: () =>
      new (requireEsModule<typeof import('@opentelemetry/instrumentation-ioredis')>('@opentelemetry/instrumentation-ioredis').IORedisInstrumentation)({ dbStatementSerializer: redisStatement }),
  },
  redis: {
    drivers: ['redis', '@redis/client'],
    create: () =>
      new (requireEsModule<typeof import('@opentelemetry/instrumentation-redis')>('@opentelemetry/instrumentation-redis').RedisInstrumentation)({ dbStatementSerializer: redisStatement }),
  },
  kafkajs: {
    drivers: ['kafkajs'],
    create: () => new (requireEsModule<typeof import('@opentelemetry/instrumentation-kafkajs')>('@opentelemetry/instrumentation-kafkajs').KafkaJsInstrumentation)(),
  },
  amqplib: {
    drivers: ['amqplib'],
    create: () => new (requireEsModule<typeof import('@opentelemetry/instrumentation-amqplib')>('@opentelemetry/instrumentation-amqplib').AmqplibInstrumentation)(),
  },
};

/** The instrumentations for the app's drivers, and what is worth a warning about the ones left out. */
export interface DataInstrumentations {
  readonly instrumentations: Instrumentation[];
  /** The drivers each one patches, to tell which were loaded too early. */
  readonly drivers: Map<Instrumentation, readonly string[]>;
  /** Each one's name, for the on/off switches of later starts in the process. */
  readonly names: Map<Instrumentation, DataInstrumentationName>;
  readonly warnings: string[];
}

/**
 * Builds the instrumentation of every driver the application has installed and `enabled` allows. One that cannot
 * be built (a broken install) is left out with a warning; it never stops the app.
 */
export function createDataInstrumentations(
  enabled: (name: DataInstrumentationName) => boolean,
  roots: readonly string[] = appRoots(),
): DataInstrumentations {
  const result: DataInstrumentations = { instrumentations: [], drivers: new Map(), names: new Map(), warnings: [] };
  for (const [name, entry] of Object.entries(CATALOGUE) as [Exclude<DataInstrumentationName, 'prisma'>, CatalogueEntry][]) {
    if (!enabled(name) || !entry.drivers.some((driver) => resolveFromApp(driver, roots))) continue;
    try {
      const instrumentation = entry.create();
      result.instrumentations.push(instrumentation);
      result.drivers.set(instrumentation, entry.drivers);
      result.names.set(instrumentation, name);
    } catch (error) {
      result.warnings.push(`The ${name} instrumentation could not be loaded, so ${name} gets no spans: ${(error as Error).message}`);
    }
  }
  if (enabled('prisma')) addPrisma(result, roots);
  return result;
}

/**
 * Prisma traces through `@prisma/instrumentation`, whose major version must match the client's. It is the app's
 * own dependency, not the library's: installed beside the client, in the version the client needs.
 */
function addPrisma(result: DataInstrumentations, roots: readonly string[]): void {
  const clientMajor = appPackageMajor('@prisma/client', roots);
  if (clientMajor === undefined) return;
  const instrumentationMajor = appPackageMajor('@prisma/instrumentation', roots);
  if (instrumentationMajor === undefined) {
    result.warnings.push(
      `@prisma/client ${clientMajor} is installed without @prisma/instrumentation, so Prisma queries get no spans: ` +
        `npm install @prisma/instrumentation@${clientMajor}`,
    );
    return;
  }
  if (instrumentationMajor !== clientMajor) {
    result.warnings.push(
      `@prisma/instrumentation ${instrumentationMajor} does not match @prisma/client ${clientMajor}; Prisma may make no spans: ` +
        `npm install @prisma/instrumentation@${clientMajor}`,
    );
  }
  try {
    const entry = resolveFromApp('@prisma/instrumentation', roots);
    if (!entry) throw new Error('its entry point does not resolve');
    const prisma = requireFromHere(entry) as {
      PrismaInstrumentation: new () => Instrumentation;
    };
    const instrumentation = new prisma.PrismaInstrumentation();
    result.instrumentations.push(instrumentation);
    result.drivers.set(instrumentation, ['@prisma/client']);
    result.names.set(instrumentation, 'prisma');
  } catch (error) {
    result.warnings.push(`@prisma/instrumentation could not be loaded, so Prisma gets no spans: ${(error as Error).message}`);
  }
}
