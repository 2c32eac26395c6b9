import type { SpanOptions } from '@opentelemetry/api';
import type { ModulesLike } from './handler-discovery.js';
import { ATTR } from './otel.constants.js';
import type { EnhancerKind } from './otel.options.js';
import { TracingRuntime } from './sdk/tracing-runtime.js';
import { TracingInterceptor } from './tracing.interceptor.js';
import { runInSpan } from './span-runner.js';
import { activeContext } from './sdk/context-manager.js';

/** The method that makes an instance a guard or a pipe, and the span type it gets. */
const ENHANCER_METHODS: Record<EnhancerKind, { method: string; type: string }> = {
  guards: { method: 'canActivate', type: 'guard' },
  pipes: { method: 'transform', type: 'pipe' },
  // An interceptor's span lasts until the Observable it returns ends, so it contains what it wraps.
  interceptors: { method: 'intercept', type: 'interceptor' },
};

/** Instances already wrapped, per method: apps sharing a module (and a second bootstrap) must not wrap twice. */
const wrapped = new WeakMap<object, Set<string>>();
const runtime = TracingRuntime.get();

/**
 * Gives the guards, pipes and interceptors the container created a span per call (`StaffOnlyGuard.canActivate`),
 * under the request's server span. Guards run before interceptors, so they can only be timed by wrapping their
 * instances.
 * Enhancers created with `new` in a decorator or with `useGlobalPipes()` are outside the container and untouched.
 */
export function traceEnhancers(modules: ModulesLike, kinds: readonly EnhancerKind[]): void {
  if (kinds.length === 0) return;
  for (const module of modules.values()) {
    // Enhancers named in decorators are the module's injectables; global ones are APP_* providers. Other
    // providers are left alone even when they happen to have a `transform` or `intercept` method.
    const globals = [...module.providers.entries()].filter(([token]) => isGlobalEnhancerToken(token)).map(([, wrapper]) => wrapper);
    for (const wrapper of [...module.injectables.values(), ...globals]) {
      for (const kind of kinds) wrapEnhancer(wrapper.instance, kind);
    }
  }
}

/** Nest registers `APP_GUARD`, `APP_PIPE` and `APP_INTERCEPTOR` providers under `APP_… (UUID: …)` tokens. */
function isGlobalEnhancerToken(token: unknown): boolean {
  return typeof token === 'string' && /^APP_(GUARD|PIPE|INTERCEPTOR)\b/.test(token);
}

function wrapEnhancer(instance: unknown, kind: EnhancerKind): void {
  if (instance === null || typeof instance !== 'object' || instance instanceof TracingInterceptor) return;
  const { method, type } = ENHANCER_METHODS[kind];
  const target = instance as Record<string | symbol, unknown>;
  const original = target[method];
  const done = wrapped.get(instance) ?? new Set<string>();
  if (typeof original !== 'function' || done.has(method)) return;
  const name = `${enhancerName(instance, type)}.${method}`;
  const options: SpanOptions = { attributes: { [ATTR.nestType]: type, [ATTR.codeFunction]: name } };
  target[method] = function (this: unknown, ...args: unknown[]): unknown {
    if (!runtime.running) return original.apply(this, args);
    const parent = activeContext();
    return runInSpan(runtime.tracer.startSpan(name, options, parent), parent, (span) => {
      const result = original.apply(this, args);
      if (type === 'guard' && typeof result === 'boolean') span.setAttribute(ATTR.guardResult, result);
      return result;
    });
  };
  done.add(method);
  wrapped.set(instance, done);
}

/** Nest's `mixin()` (FileInterceptor, AuthGuard) renames classes to random ids; those read as `MixinInterceptor`. */
function enhancerName(instance: object, type: string): string {
  const name = instance.constructor.name;
  if (name && !/^[0-9a-f]{16,}$/.test(name)) return name;
  return `Mixin${type.charAt(0).toUpperCase()}${type.slice(1)}`;
}
