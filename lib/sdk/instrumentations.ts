import type { Instrumentation } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { createRequire } from 'node:module';
import type { ResolvedOtelOptions } from '../otel.options.js';
import type { OutgoingBaggageFilter } from '../privacy/baggage-filter.js';

const requireFromHere = createRequire(import.meta.url);

/**
 * The default set: outgoing HTTP (http and undici/fetch). Incoming HTTP spans and handler spans come from the
 * library itself on every Nest version (instrumentation-nestjs-core is not used: it makes no spans on Nest 12 and
 * marks 4xx rejections ERROR below it), and instrumentation-http's incoming side, which must load before `http`
 * and costs a large share of throughput, is off unless asked for.
 */
export function createDefaultInstrumentations(options: ResolvedOtelOptions, baggage: OutgoingBaggageFilter): Instrumentation[] {
  const instrumentations: Instrumentation[] = [
    new HttpInstrumentation({
      disableIncomingRequestInstrumentation: !options.incomingHttpInstrumentation,
      // Called with each outgoing request's options just before the headers are injected.
      startOutgoingSpanHook: (request) => {
        baggage.noteOutgoingHost(request as { hostname?: string; host?: string });
        return {};
      },
    }),
    new UndiciInstrumentation(),
  ];
  return instrumentations;
}

/** Applies the options that may differ between two starts in one process to the kept default set. */
export function reconfigureDefaultInstrumentations(defaults: Instrumentation[], options: ResolvedOtelOptions): Instrumentation[] {
  for (const instrumentation of defaults) {
    if (!(instrumentation instanceof HttpInstrumentation)) continue;
    const disableIncomingRequestInstrumentation = !options.incomingHttpInstrumentation;
    instrumentation.setConfig({ ...instrumentation.getConfig(), disableIncomingRequestInstrumentation });
  }
  return defaults;
}

/** Applies the `instrumentations` option to the default set. */
export function selectInstrumentations(options: ResolvedOtelOptions, defaults: () => Instrumentation[]): Instrumentation[] {
  const choice = options.instrumentations;
  if (choice === undefined) return defaults();
  return typeof choice === 'function' ? choice(defaults()) : choice;
}

/**
 * Modules the instrumentations patch that were loaded before them: auto-instrumentation cannot reach
 * code that already holds these. Core modules are seen through `process.moduleLoadList`, packages
 * through the CommonJS cache (ESM packages cannot be patched late either way).
 */
export function modulesLoadedTooEarly(instrumentations: Instrumentation[]): string[] {
  const names = new Set(instrumentations.flatMap(moduleNames));
  const cached = Object.keys(requireFromHere.cache);
  const coreLoaded = new Set(
    ((process as NodeJS.Process & { moduleLoadList?: string[] }).moduleLoadList ?? [])
      .filter((entry) => entry.startsWith('NativeModule '))
      .map((entry) => entry.slice('NativeModule '.length)),
  );
  return [...names].filter(
    (name) => coreLoaded.has(name) || cached.some((file) => file.includes(`/node_modules/${name}/`)),
  );
}

function moduleNames(instrumentation: Instrumentation): string[] {
  const definitions = (instrumentation as { getModuleDefinitions?: () => { name: string }[] }).getModuleDefinitions?.() ?? [];
  return definitions.map((definition) => definition.name).filter((name) => !name.startsWith('node:'));
}
