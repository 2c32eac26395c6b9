import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { ROOT } from './child-app.js';

const NEST11 = join(ROOT, 'test/compat/nest11/node_modules');

/** A CommonJS fixture app placed where `nestjs-tracing` and `@nestjs/*` resolve to the Nest version under test. */
export interface NestInstall {
  /** The script to run. */
  readonly script: string;
  /** Node options: Nest 11 apps are started with the preload entry, Nest 12 apps with `forRoot` alone. */
  readonly nodeArgs: string[];
  /** Whether TCP packets carry the trace context (Nest 12 packet metadata). */
  readonly tcpCarriesContext: boolean;
  cleanup(): void;
}

/**
 * Nest 12 from this repository's install; `nestjs-tracing` resolves to the built package by self-reference. The
 * compiled CommonJS file is copied beside it as `.cjs`, since the repository's package is an ES module one.
 */
export function nest12Install(compiled: string): NestInstall {
  const script = compiled.replace(/\.js$/, '.cjs');
  copyFileSync(compiled, script);
  return { script, nodeArgs: [], tcpCarriesContext: true, cleanup: () => undefined };
}

/**
 * Nest 11 (CommonJS) from `test/compat/nest11`, in a temporary app folder with a copy of the built library; every
 * other package links to this repository's install.
 */
export function nest11Install(compiled: string): NestInstall {
  if (!existsSync(join(NEST11, '@nestjs/core'))) throw new Error('Nest 11 is not installed: run `npm run setup` first');
  const app = mkdtempSync(join(tmpdir(), 'nestjs-tracing-nest11-'));
  const modules = join(app, 'node_modules');
  mkdirSync(join(modules, 'nestjs-tracing'), { recursive: true });
  cpSync(join(ROOT, 'dist'), join(modules, 'nestjs-tracing/dist'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(modules, 'nestjs-tracing/package.json'));
  for (const entry of readdirSync(NEST11)) if (entry !== '.bin') symlinkSync(join(NEST11, entry), join(modules, entry));
  for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
    if (!existsSync(join(modules, entry)) && entry !== '.bin') symlinkSync(join(ROOT, 'node_modules', entry), join(modules, entry));
  }
  const script = join(app, basename(compiled).replace(/\.js$/, '.cjs'));
  copyFileSync(compiled, script);
  return { script, nodeArgs: ['-r', 'nestjs-tracing/register'], tcpCarriesContext: false, cleanup: () => rmSync(app, { recursive: true, force: true }) };
}
