import type { SpanOptions } from '@opentelemetry/api';
import { copyMethodIdentity, hasMarker } from './method-identity.js';
import { ATTR } from './otel.constants.js';
import { TracingRuntime } from './sdk/tracing-runtime.js';
import { runInSpan } from './span-runner.js';
import { activeContext } from './sdk/context-manager.js';

/** Options of the {@link Traced} class decorator. */
export interface TracedOptions {
  /** Methods to leave untraced, by name. */
  exclude?: string[];
  /** Span options (kind, attributes) given to every method's span. */
  spanOptions?: SpanOptions;
}

type AnyMethod = (this: unknown, ...args: unknown[]) => unknown;

/** Marks a wrapper, so that a method decorated twice (or by `@Span` and `@Traced`) gets one span. */
const TRACED_METHOD = Symbol.for('nestjs-tracing.traced-method');

/** Nest calls these itself; spans for them are noise. */
const LIFECYCLE_HOOKS = new Set([
  'onModuleInit',
  'onApplicationBootstrap',
  'onModuleDestroy',
  'beforeApplicationShutdown',
  'onApplicationShutdown',
]);

const runtime = TracingRuntime.get();

/**
 * Runs the method in its own span, a child of the active one, named `ClassName.method` unless a name is given.
 * Sync, async and Observable methods alike; the span ends when the work ends, and a failure is recorded and
 * re-thrown unchanged. Combines with Nest's method decorators (`@Get()`, `@MessagePattern()`, `@Cron()`) in
 * either order: the method keeps its name and metadata. With no SDK running it calls the method directly.
 */
export function Span(name?: string, options?: SpanOptions): MethodDecorator {
  return (target, key, descriptor) => {
    const original = descriptor.value;
    if (typeof original !== 'function') {
      throw new TypeError(`@Span() decorates methods, and ${ownerName(target)}.${String(key)} is not one`);
    }
    descriptor.value = traceMethod(original as AnyMethod, name ?? `${ownerName(target)}.${String(key)}`, options) as typeof original;
  };
}

/**
 * Runs every method of the class in its own span, as {@link Span} does, except the constructor, getters and
 * setters, Nest lifecycle hooks, excluded methods and methods that already have `@Span()`.
 */
export function Traced(options: TracedOptions = {}): ClassDecorator {
  const excluded = new Set(options.exclude ?? []);
  return (target) => {
    const prototype = target.prototype as Record<string, unknown>;
    for (const key of Object.getOwnPropertyNames(prototype)) {
      if (key === 'constructor' || LIFECYCLE_HOOKS.has(key) || excluded.has(key)) continue;
      const descriptor = Object.getOwnPropertyDescriptor(prototype, key);
      if (!descriptor || typeof descriptor.value !== 'function' || isTraced(descriptor.value)) continue;
      const value = traceMethod(descriptor.value as AnyMethod, `${target.name}.${key}`, options.spanOptions);
      Object.defineProperty(prototype, key, { ...descriptor, value });
    }
  };
}

function traceMethod(original: AnyMethod, spanName: string, options: SpanOptions | undefined): AnyMethod {
  if (isTraced(original)) return original;
  const spanOptions: SpanOptions = { ...options, attributes: { [ATTR.codeFunction]: spanName, ...options?.attributes } };
  const wrapper = function (this: unknown, ...args: unknown[]): unknown {
    if (!runtime.running) return original.apply(this, args);
    const parent = activeContext();
    return runInSpan(runtime.tracer.startSpan(spanName, spanOptions, parent), parent, () => original.apply(this, args));
  };
  copyMethodIdentity(original, wrapper, TRACED_METHOD);
  return wrapper;
}

function isTraced(method: unknown): boolean {
  return hasMarker(method, TRACED_METHOD);
}

function ownerName(target: object): string {
  return typeof target === 'function' ? target.name : target.constructor.name;
}
