import { SpanKind } from '@opentelemetry/api';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runNode } from './support/child-app.js';

const NEST11 = join(ROOT, 'test/compat/nest11/node_modules');

interface ReportedSpan {
  name: string;
  kind: SpanKind;
  scope: string;
  type?: string;
}

/**
 * Nest 11, where @opentelemetry/instrumentation-nestjs-core still makes spans: the library's default set turns it
 * on, and the interceptor must leave the handler to it. Nest 11 is installed apart (`npm run setup`).
 */
describe('on Nest 11 with instrumentation-nestjs-core active', () => {
  let app: string;

  beforeAll(() => {
    if (!existsSync(join(NEST11, '@nestjs/core'))) throw new Error('Nest 11 is not installed: run `npm run setup` first');
    app = mkdtempSync(join(tmpdir(), 'nestjs-tracing-nest11-'));
    const modules = join(app, 'node_modules');
    // The built library, copied so that its own imports of @nestjs/* resolve to Nest 11 here.
    mkdirSync(join(modules, 'nestjs-tracing'), { recursive: true });
    cpSync(join(ROOT, 'dist'), join(modules, 'nestjs-tracing/dist'), { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(modules, 'nestjs-tracing/package.json'));
    mkdirSync(join(modules, '@nestjs'));
    for (const name of readdirSync(join(NEST11, '@nestjs'))) symlinkSync(join(NEST11, '@nestjs', name), join(modules, '@nestjs', name));
    for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
      if (!['nestjs-tracing', '.bin', '@nestjs'].includes(entry)) symlinkSync(join(ROOT, 'node_modules', entry), join(modules, entry));
    }
    cpSync(join(ROOT, 'test/compat/nest11-app.cjs'), join(app, 'app.cjs'));
  });

  afterAll(() => {
    if (app) rmSync(app, { recursive: true, force: true });
  });

  it('makes one server span and leaves the handler span to instrumentation-nestjs-core', async () => {
    const { code, output } = await runNode(['-r', 'nestjs-tracing/register', 'app.cjs'], { cwd: app, env: { OTEL_TRACES_EXPORTER: 'none' } });
    expect({ code, output }).toEqual({ code: 0, output: expect.stringContaining('"body":"pong"') });
    const result = JSON.parse(output.trim().split('\n').pop() ?? '{}') as { body: string; nest: string; spans: ReportedSpan[] };
    expect(result.body).toBe('pong');
    expect(result.nest).toMatch(/^11\./);
    const server = result.spans.filter((s) => s.kind === SpanKind.SERVER);
    expect(server.map((s) => [s.name, s.scope])).toEqual([['GET /ping', 'nestjs-tracing']]);
    const handlers = result.spans.filter((s) => s.type === 'handler');
    expect(handlers.map((s) => s.scope)).toEqual(['@opentelemetry/instrumentation-nestjs-core']);
    expect(result.spans.filter((s) => s.scope === 'nestjs-tracing').map((s) => s.name)).toEqual(['GET /ping']);
  });
});
