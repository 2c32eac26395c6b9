import type { Instrumentation } from '@opentelemetry/instrumentation';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appPackageMajor, resolveFromApp } from './app-packages.js';
import { createDataInstrumentations } from './data-instrumentations.js';

/** An application folder with the given packages installed (a manifest and an empty entry point each). */
function appWith(packages: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'otel-app-'));
  for (const [name, version] of Object.entries(packages)) {
    const dir = join(root, 'node_modules', name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version, main: 'index.js' }));
    writeFileSync(join(dir, 'index.js'), 'module.exports = {};');
  }
  return root;
}

describe('the data instrumentations', () => {
  const made: Instrumentation[] = [];
  const roots: string[] = [];
  const app = (packages: Record<string, string>) => {
    const root = appWith(packages);
    roots.push(root);
    return [root];
  };
  const create = (root: string[], enabled: (name: string) => boolean = () => true) => {
    const result = createDataInstrumentations(enabled, root);
    made.push(...result.instrumentations);
    return result;
  };

  afterAll(() => {
    for (const instrumentation of made) instrumentation.disable();
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  });

  it('resolves packages from the application, not from the library', () => {
    const root = app({ pg: '8.16.0' });
    expect(resolveFromApp('pg', root)).toBe(join(root[0], 'node_modules/pg/index.js'));
    expect(resolveFromApp('ioredis', root)).toBeUndefined();
    expect(appPackageMajor('pg', root)).toBe(8);
  });

  it('turns on one instrumentation per installed driver, and none for an app without a database', () => {
    const none = create(app({ express: '5.0.0' }));
    expect(none.instrumentations).toEqual([]);
    const shop = create(app({ pg: '8.16.0', ioredis: '5.6.0', '@redis/client': '5.0.0', amqplib: '0.10.0' }));
    expect(shop.instrumentations.map((i) => i.instrumentationName)).toEqual([
      '@opentelemetry/instrumentation-pg',
      '@opentelemetry/instrumentation-ioredis',
      '@opentelemetry/instrumentation-redis',
      '@opentelemetry/instrumentation-amqplib',
    ]);
    expect([...shop.drivers.values()]).toEqual([['pg'], ['ioredis'], ['redis', '@redis/client'], ['amqplib']]);
    expect(shop.warnings).toEqual([]);
  });

  it('configures them to record no values', () => {
    const [pg, mysql] = create(app({ pg: '8.16.0', mysql2: '3.14.0' })).instrumentations;
    expect(pg.getConfig()).toMatchObject({ enhancedDatabaseReporting: false });
    expect(mysql.getConfig()).toMatchObject({ maskStatement: true });
  });

  it('lets a Mongoose operation make one span, not a second one from the driver beneath it', () => {
    const [mongodb, mongoose] = create(app({ mongodb: '7.8.0', mongoose: '9.12.1' })).instrumentations;
    expect(mongodb.getConfig()).toMatchObject({ enhancedDatabaseReporting: false });
    expect(mongoose.getConfig()).toMatchObject({ suppressInternalInstrumentation: true });
    expect(mongoose.getConfig()).not.toHaveProperty('dbStatementSerializer');
  });

  it('leaves out the ones switched off by name', () => {
    const result = create(app({ pg: '8.16.0', ioredis: '5.6.0' }), (name) => name !== 'pg');
    expect(result.instrumentations.map((i) => i.instrumentationName)).toEqual(['@opentelemetry/instrumentation-ioredis']);
  });

  it('asks for @prisma/instrumentation when the Prisma client is installed without it, and warns about a major mismatch', () => {
    const without = create(app({ '@prisma/client': '6.11.0' }));
    expect(without.instrumentations).toEqual([]);
    expect(without.warnings).toEqual([expect.stringContaining('npm install @prisma/instrumentation@6')]);
    const mismatched = create(app({ '@prisma/client': '6.11.0', '@prisma/instrumentation': '5.22.0' }));
    expect(mismatched.warnings[0]).toContain('@prisma/instrumentation 5 does not match @prisma/client 6');
  });

  it('reports an instrumentation that cannot be built instead of failing', () => {
    // This fake @prisma/instrumentation exports no PrismaInstrumentation class.
    const broken = create(app({ '@prisma/client': '6.11.0', '@prisma/instrumentation': '6.11.0' }));
    expect(broken.instrumentations).toEqual([]);
    expect(broken.warnings).toEqual([expect.stringContaining('@prisma/instrumentation could not be loaded')]);
  });
});
