import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
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

  it('exports from its runtime entry exactly what its typed surface declares', async () => {
    // One after the other: an import() of a module that the entry is require()-ing at the same time races in Node.
    const script = `const names = [];
      for (const s of ['nestjs-tracing', './node_modules/nestjs-tracing/dist/index.js', 'nestjs-tracing/testing', './node_modules/nestjs-tracing/dist/testing/index.js'])
        names.push(Object.keys(await import(s)).sort());
      console.log(JSON.stringify(names));`;
    const { code, output } = await runNode(['--input-type=module', '-e', script], { cwd: app });
    expect(code).toBe(0);
    const [entry, index, testingEntry, testingIndex] = JSON.parse(output.trim().split('\n').pop() ?? '[]') as string[][];
    expect(entry).toEqual(index);
    expect(testingEntry).toEqual(testingIndex);
  });

  describe('with an @opentelemetry/api the SDK cannot use', () => {
    const API19 = join(ROOT, 'test/compat/api19/node_modules/@opentelemetry/api');
    let old: string;

    beforeAll(() => {
      if (!existsSync(API19)) throw new Error('@opentelemetry/api 1.9.1 is not installed: run `npm run setup` first');
      // The app's tree as npm would lay it out with api 1.9.1 at the top: every package resolves that copy
      // (--preserve-symlinks keeps resolution in this tree rather than in the repository's).
      old = mkdtempSync(join(tmpdir(), 'nestjs-tracing-api19-'));
      const modules = join(old, 'node_modules');
      mkdirSync(join(modules, '@opentelemetry'), { recursive: true });
      for (const entry of readdirSync(join(app, 'node_modules'))) {
        if (entry !== '@opentelemetry') symlinkSync(join(app, 'node_modules', entry), join(modules, entry));
      }
      for (const entry of readdirSync(join(ROOT, 'node_modules/@opentelemetry'))) {
        const target = entry === 'api' ? API19 : join(ROOT, 'node_modules/@opentelemetry', entry);
        symlinkSync(target, join(modules, '@opentelemetry', entry));
      }
      cpSync(join(ROOT, 'test/consumers'), old, { recursive: true });
    });

    afterAll(() => {
      if (old) rmSync(old, { recursive: true, force: true });
    });

    it.each([
      ['an ES-module app', ['esm-consumer.mjs']],
      ['a CommonJS app', ['cjs-consumer.cjs']],
      ['the preload entry', ['-r', 'nestjs-tracing/register', '-e', '0']],
    ])('fails at start-up in %s with an error naming both versions and the fix', async (_, args) => {
      const { code, output } = await runNode(['--preserve-symlinks', ...args], { cwd: old, env: { OTEL_SDK_DISABLED: '', OTEL_TRACES_EXPORTER: 'none' } });
      expect(code).not.toBe(0);
      expect(output).toContain('OtelApiVersionError');
      expect(output).toContain('needs @opentelemetry/api >=1.10.0 <1.11.0');
      expect(output).toContain('but 1.9.1 is installed');
      expect(output).toContain('npm install @opentelemetry/api@~1.10.0');
      expect(output).not.toContain('SyntaxError');
    });
  });

  it('declares the @opentelemetry/api range its SDK packages need, so npm reports a conflict at install', () => {
    const manifest = (name: string) => JSON.parse(execFileSync('cat', [join(app, 'node_modules', name, 'package.json')], { encoding: 'utf8' }));
    const declared = manifest('nestjs-tracing').peerDependencies['@opentelemetry/api'];
    expect(declared).toBe('>=1.10.0 <1.11.0');
    for (const sdk of ['@opentelemetry/sdk-trace', '@opentelemetry/sdk-node', '@opentelemetry/core']) {
      expect(manifest(sdk).peerDependencies['@opentelemetry/api']).toBe(declared);
    }
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
