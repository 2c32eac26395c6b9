import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runNode } from './support/child-app.js';

/**
 * The package as `npm pack` makes it, installed into a fresh app beside the dependencies it needs, and used from
 * an ES-module app, a CommonJS app and TypeScript in both module kinds.
 */
describe('the packed package', () => {
  let app: string;

  beforeAll(() => {
    app = mkdtempSync(join(tmpdir(), 'nestjs-tracing-consumer-'));
    const packed = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', app], { cwd: ROOT, encoding: 'utf8' });
    const [{ filename }] = JSON.parse(packed.slice(packed.indexOf('['))) as { filename: string }[];
    const modules = join(app, 'node_modules');
    mkdirSync(join(modules, 'nestjs-tracing'), { recursive: true });
    execFileSync('tar', ['-xzf', join(app, filename), '-C', join(modules, 'nestjs-tracing'), '--strip-components=1']);
    // Everything else comes from this repository's install, as a registry install would provide it.
    for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
      if (entry !== 'nestjs-tracing' && entry !== '.bin') symlinkSync(join(ROOT, 'node_modules', entry), join(modules, entry));
    }
    cpSync(join(ROOT, 'test/consumers'), app, { recursive: true });
  }, 60_000);

  afterAll(() => {
    rmSync(app, { recursive: true, force: true });
  });

  it('ships only the built library, its preload entry and declarations', () => {
    const files = readdirSync(join(app, 'node_modules/nestjs-tracing/dist'), { recursive: true }) as string[];
    expect(files).toEqual(expect.arrayContaining(['index.js', 'index.d.ts', 'register.js', 'register.d.ts', 'testing/index.js', 'testing/index.d.ts']));
    expect(files.some((f) => f.includes('.spec.'))).toBe(false);
  });

  it.each([
    ['an ES-module app', 'esm-consumer.mjs'],
    ['a CommonJS app (require of ESM)', 'cjs-consumer.cjs'],
  ])('works in %s', async (_, script) => {
    const { code, output } = await runNode([script], { cwd: app, env: { OTEL_SDK_DISABLED: '' } });
    expect(code).toBe(0);
    const result = JSON.parse(output.trim().split('\n').pop() ?? '{}');
    expect(result).toEqual({ body: 'pong', spans: ['PingController.ping', 'GET /ping'], interceptor: 'function' });
  });

  it.each([
    ['module', 'NodeNext'],
    ['commonjs', 'NodeNext'],
  ])('type-checks in a TypeScript app of package type %s', (type, module) => {
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type }));
    const tsconfig = {
      compilerOptions: {
        module,
        moduleResolution: module,
        target: 'ES2023',
        strict: true,
        experimentalDecorators: true,
        emitDecoratorMetadata: true,
        noEmit: true,
        skipLibCheck: true,
        types: [],
      },
      files: ['typed-consumer.ts'],
    };
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(tsconfig));
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    expect(() => execFileSync(process.execPath, [tsc, '-p', app], { cwd: app, encoding: 'utf8' })).not.toThrow();
  });
});
