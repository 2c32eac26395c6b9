import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const requireFromHere = createRequire(import.meta.url);

/**
 * Loads an optional package only when a configuration needs it, and loads its ES module build, synchronously
 * through require(esm), so that it shares the ES module copies of `@opentelemetry/api`, `core` and
 * `instrumentation` the library runs on: `require(name)` would pick the CommonJS build and load a second copy of
 * each beside them (13 MB more heap, and longer start-up).
 */
export function requireEsModule<T>(name: string): T {
  const entry = esModuleEntry(name);
  if (entry !== undefined) {
    try {
      return requireFromHere(entry) as T;
    } catch {
      // A loader that cannot require ES modules (jest's, on Node below 24.9) gets the CommonJS build below.
    }
  }
  return requireFromHere(name) as T;
}

function esModuleEntry(name: string): string | undefined {
  const url = typeof import.meta.resolve === 'function' ? import.meta.resolve(name) : undefined;
  return url?.startsWith('file:') ? fileURLToPath(url) : undefined;
}
