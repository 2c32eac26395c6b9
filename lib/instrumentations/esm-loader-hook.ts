import type { Instrumentation } from '@opentelemetry/instrumentation';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire, isBuiltin, register } from 'node:module';
import { dirname, extname, join, resolve } from 'node:path';
import { moduleNames } from './default-instrumentations.js';

/** How the ES module loader hook was set up, if at all. */
export type EsmHookMode = 'sync' | 'async' | 'not-needed';

type SyncHooks = typeof import('import-in-the-middle/register-hooks.mjs');

const requireFromHere = createRequire(import.meta.url);

/**
 * Lets the instrumentations patch packages an ES module app imports (`import { Pool } from 'pg'`), which the
 * CommonJS `require` hook never sees. Registered by the preload entry before the app's first module loads, and only
 * for an app whose entry is an ES module. The hook wraps only the packages the instrumentations patch, never every
 * module: synchronous `module.registerHooks` where this Node has a version that works with the wrapper, else the
 * loader thread of `module.register`.
 */
export function registerEsmLoaderHook(instrumentations: readonly Instrumentation[], entry = process.argv[1]): EsmHookMode {
  if (!entry || !isEsModuleEntry(entry)) return 'not-needed';
  const include = includedModules(instrumentations);
  if (include.length === 0) return 'not-needed';
  const hooks = requireFromHere('import-in-the-middle/register-hooks.mjs') as SyncHooks;
  if (hooks.supportsSyncHooks()) {
    hooks.register({ include });
    return 'sync';
  }
  register('import-in-the-middle/hook.mjs', import.meta.url, { data: { include } });
  return 'async';
}

/** Each patched package by its bare name, and every file inside it (deep imports, a package's own imports). */
function includedModules(instrumentations: readonly Instrumentation[]): (string | RegExp)[] {
  const names = new Set(instrumentations.flatMap(moduleNames));
  return [...names].flatMap((name) => {
    if (isBuiltin(name)) return [name];
    return [name, new RegExp(`/node_modules/${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/`)];
  });
}

/** Whether Node runs `entry` as an ES module: `.mjs`, or `.js` under a package.json with `"type": "module"`. */
export function isEsModuleEntry(entry: string): boolean {
  const path = resolve(entry);
  const extension = extname(path);
  if (extension === '.mjs' || extension === '.mts') return true;
  if (extension === '.cjs' || extension === '.cts') return false;
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        return (JSON.parse(readFileSync(manifest, 'utf8')) as { type?: string }).type === 'module';
      } catch {
        return false;
      }
    }
    if (dirname(dir) === dir) return false;
  }
}
