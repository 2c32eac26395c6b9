import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isEsModuleEntry, registerEsmLoaderHook } from './esm-loader-hook.js';

describe('the ES module loader hook', () => {
  let root: string;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'otel-entry-'));
    mkdirSync(join(root, 'esm/dist'), { recursive: true });
    mkdirSync(join(root, 'cjs/dist'), { recursive: true });
    writeFileSync(join(root, 'esm/package.json'), JSON.stringify({ type: 'module' }));
    writeFileSync(join(root, 'cjs/package.json'), JSON.stringify({ name: 'app' }));
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('tells an ES module entry from a CommonJS one, as Node does', () => {
    expect(isEsModuleEntry(join(root, 'esm/dist/main.js'))).toBe(true);
    expect(isEsModuleEntry(join(root, 'cjs/dist/main.js'))).toBe(false);
    expect(isEsModuleEntry(join(root, 'cjs/dist/main.mjs'))).toBe(true);
    expect(isEsModuleEntry(join(root, 'esm/dist/main.cjs'))).toBe(false);
  });

  it('is not registered for a CommonJS app, whose packages the require hook patches', () => {
    expect(registerEsmLoaderHook([], join(root, 'cjs/dist/main.js'))).toBe('not-needed');
    expect(registerEsmLoaderHook([], undefined)).toBe('not-needed');
  });

  it('is not registered when no instrumentation patches a package', () => {
    expect(registerEsmLoaderHook([], join(root, 'esm/dist/main.js'))).toBe('not-needed');
  });
});
