import type { Instrumentation } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import nodeModule, { createRequire } from 'node:module';
import { join, sep } from 'node:path';
import type { InstrumentationName, ResolvedOtelOptions } from '../otel.options.js';
import type { OutgoingBaggageFilter } from '../privacy/baggage-filter.js';
import { resolveFromApp } from './app-packages.js';
import { createDataInstrumentations } from './data-instrumentations.js';

const requireFromHere = createRequire(import.meta.url);

/** The default set, with what the runtime needs to know about it. */
export interface DefaultInstrumentations {
  readonly instrumentations: Instrumentation[];
  /** The database, cache and queue drivers each data instrumentation patches. */
  readonly drivers: ReadonlyMap<Instrumentation, readonly string[]>;
  /** Each instrumentation's name, as `disabledInstrumentations` spells it. */
  readonly names: ReadonlyMap<Instrumentation, InstrumentationName>;
  /** Instrumentations left out for a reason the user should hear (Prisma without its instrumentation, say). */
  readonly warnings: readonly string[];
}

/**
 * The default set: outgoing HTTP (http and undici/fetch), and an instrumentation for each database, cache and
 * queue driver the app has installed. Incoming HTTP spans and handler spans come from the library itself on every
 * Nest version (instrumentation-nestjs-core is not used: it makes no spans on Nest 12 and marks 4xx rejections
 * ERROR below it), and instrumentation-http's incoming side, which must load before `http` and costs a large share
 * of throughput, is off unless asked for.
 */
export function createDefaultInstrumentations(options: ResolvedOtelOptions, baggage: OutgoingBaggageFilter): DefaultInstrumentations {
  const names = new Map<Instrumentation, InstrumentationName>();
  if (options.instrumentationEnabled('http')) {
    names.set(
      new HttpInstrumentation({
        disableIncomingRequestInstrumentation: !options.incomingHttpInstrumentation,
        // Called with each outgoing request's options just before the headers are injected.
        startOutgoingSpanHook: (request) => {
          baggage.noteOutgoingHost(request as { hostname?: string; host?: string });
          return {};
        },
      }),
      'http',
    );
  }
  if (options.instrumentationEnabled('undici')) names.set(new UndiciInstrumentation(), 'undici');
  const data = createDataInstrumentations(options.instrumentationEnabled);
  for (const [instrumentation, name] of data.names) names.set(instrumentation, name);
  return { instrumentations: [...names.keys()], drivers: data.drivers, names, warnings: data.warnings };
}

/**
 * Applies the options that may differ between two starts in one process to the kept default set: the incoming
 * HTTP switch, and the instrumentations switched off by name (one the first start left out is not made later).
 */
export function reconfigureDefaultInstrumentations(defaults: DefaultInstrumentations, options: ResolvedOtelOptions): Instrumentation[] {
  const kept: Instrumentation[] = [];
  for (const instrumentation of defaults.instrumentations) {
    const name = defaults.names.get(instrumentation);
    if (name !== undefined && !options.instrumentationEnabled(name)) {
      instrumentation.disable();
      continue;
    }
    kept.push(instrumentation);
    if (!(instrumentation instanceof HttpInstrumentation)) continue;
    const disableIncomingRequestInstrumentation = !options.incomingHttpInstrumentation;
    instrumentation.setConfig({ ...instrumentation.getConfig(), disableIncomingRequestInstrumentation });
  }
  return kept;
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

/**
 * Patches database drivers the app loaded before tracing started, by requiring them again through the module
 * loader the instrumentations hook: they patch the driver's classes, which instances made earlier share. Returns
 * the drivers this applied to (by the package name users know), so that the caller can say so.
 */
export function patchDriversLoadedEarly(drivers: ReadonlyMap<Instrumentation, readonly string[]>): string[] {
  const files = Object.keys(requireFromHere.cache);
  const patched: string[] = [];
  for (const [instrumentation, packages] of drivers) {
    let loaded = false;
    for (const definition of moduleDefinitions(instrumentation)) {
      const marker = `${sep}node_modules${sep}${definition.name.split('/').join(sep)}${sep}`;
      const roots = new Set(files.filter((file) => file.includes(marker)).map((file) => file.slice(0, file.lastIndexOf(marker))));
      for (const root of roots) {
        loaded = true;
        requireAgain(() => createRequire(join(root, 'noop.js'))(definition.name));
        // Files inside the package that the instrumentation patches (mysql2's connection class, say), by path:
        // a package's exports may not list them.
        for (const file of definition.files ?? []) {
          const path = join(root, 'node_modules', ...file.name.split('/'));
          if (files.includes(path)) requireAgain(() => requireFromHere(path));
        }
      }
    }
    if (loaded) patched.push(packages[0]);
  }
  return patched;
}

/**
 * Drivers that Nest 12's transports load with `import()` from its ES modules (the Kafka client and server, the Redis
 * transport). An `import()` of a CommonJS package does not go through `require`, so the instrumentations' CommonJS
 * hook never sees it, and a CommonJS app (Nest 12 through require(esm)) would get these drivers unpatched.
 */
const DRIVERS_NEST_IMPORTS = new Set(['kafkajs', 'ioredis']);

/**
 * Has the {@link DRIVERS_NEST_IMPORTS} the app has, and whose instrumentation is on, loaded through the hooked
 * `require`: Node then answers Nest's later `import()` with the patched module from the CommonJS cache. For starts
 * that no ES module loader hook watches (a CommonJS app, or `forRoot` without the preload). Where Node has
 * `module.registerHooks`, each driver is loaded only when something first resolves it, so an app that has the
 * package installed but never uses it loads nothing (kafkajs alone is 140 modules); elsewhere they load now.
 */
export function requireDriversNestImports(drivers: ReadonlyMap<Instrumentation, readonly string[]>): void {
  const paths = new Map<string, string>();
  for (const packages of drivers.values()) {
    for (const name of packages) {
      if (!DRIVERS_NEST_IMPORTS.has(name)) continue;
      const path = resolveFromApp(name);
      if (path && !path.endsWith('package.json')) paths.set(name, path);
    }
  }
  if (paths.size === 0 || loadWhenResolved(paths)) return;
  // No hook on this Node: loaded now, whether the app uses them or not.
  for (const path of paths.values()) requireAgain(() => requireFromHere(path));
}

interface ResolveHooks {
  resolve(specifier: string, context: unknown, nextResolve: (specifier: string, context: unknown) => unknown): unknown;
}
type RegisterHooks = (hooks: ResolveHooks) => { deregister(): void };

/** Drivers waiting to be resolved for the first time, by bare name; one hook serves every start in the process. */
const awaitedDrivers = new Map<string, string>();
let awaitingHook: { deregister(): void } | undefined;

/**
 * Loads each package of `paths` (bare name to its main file, as the app resolves it) through the hooked `require`
 * the first time any `import` or `require` resolves its bare name. False where Node has no `module.registerHooks`
 * or the running loader refuses it: the caller then loads them at once.
 */
function loadWhenResolved(paths: ReadonlyMap<string, string>): boolean {
  if (!awaitingHook) {
    const registerHooks = (nodeModule as { registerHooks?: RegisterHooks }).registerHooks;
    if (typeof registerHooks !== 'function') return false;
    try {
      awaitingHook = registerHooks(LOAD_ON_FIRST_RESOLVE);
    } catch {
      // A loader that has the function but refuses hooks (jest's module runtime throws): they load now instead.
      return false;
    }
  }
  // A driver already loaded was patched, or warned about, by patchDriversLoadedEarly.
  for (const [name, path] of paths) if (!requireFromHere.cache[path]) awaitedDrivers.set(name, path);
  if (awaitedDrivers.size === 0) stopAwaiting();
  return true;
}

/** The one resolve hook: a bare name still awaited is loaded, patched, before Node resolves it as usual. */
const LOAD_ON_FIRST_RESOLVE: ResolveHooks = {
  resolve(specifier, context, nextResolve) {
    const path = awaitedDrivers.get(specifier);
    if (path === undefined) return nextResolve(specifier, context);
    // Deleted first: the driver's own loading resolves through this hook too.
    awaitedDrivers.delete(specifier);
    requireAgain(() => requireFromHere(path));
    if (awaitedDrivers.size === 0) stopAwaiting();
    return nextResolve(specifier, context);
  },
};

/** Removes the hook once nothing is awaited; after the current resolution, which is still running through it. */
function stopAwaiting(): void {
  const hook = awaitingHook;
  awaitingHook = undefined;
  queueMicrotask(() => hook?.deregister());
}

/** A driver that fails to load again is left as it was; the warning about it still applies. */
function requireAgain(load: () => unknown): void {
  try {
    load();
  } catch {
    // left unpatched
  }
}

interface ModuleDefinition {
  name: string;
  files?: { name: string }[];
}

function moduleDefinitions(instrumentation: Instrumentation): ModuleDefinition[] {
  const definitions = (instrumentation as { getModuleDefinitions?: () => ModuleDefinition[] }).getModuleDefinitions?.() ?? [];
  return definitions.filter((definition) => !definition.name.startsWith('node:'));
}

/** The packages (and Node modules) an instrumentation patches, by the names it hooks. */
export function moduleNames(instrumentation: Instrumentation): string[] {
  return moduleDefinitions(instrumentation).map((definition) => definition.name);
}
