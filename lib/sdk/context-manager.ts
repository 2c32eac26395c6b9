import { context, ROOT_CONTEXT, type Context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AsyncLocalStorage } from 'node:async_hooks';
import { timerContextRelease, type TimerContextRelease } from './timer-context.js';

/** What `attach` returns: `dispose()` puts the previous context back. */
interface DisposableContextScope {
  dispose(): void;
}

/**
 * OpenTelemetry's AsyncLocalStorage context manager (its `bind` of functions and event emitters is kept as it is),
 * over a storage of its own that the library's per-request code reads and runs in directly: the API's `with` hands
 * its arguments on twice as rest arrays and its `active` looks the manager up in the global registry, on every call.
 */
export class LibraryContextManager extends AsyncLocalStorageContextManager {
  private readonly storage = new AsyncLocalStorage<Context>();
  private timerRelease: TimerContextRelease | null | undefined;

  override active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }

  override with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    activeContext: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    const callback = thisArg == null ? fn : (fn.bind(thisArg) as F);
    return this.storage.run(activeContext, callback, ...args);
  }

  /** Runs `fn(a)` with `activeContext` active: for the library's hot paths, with no `this` to bind. */
  run1<A, R>(activeContext: Context, fn: (a: A) => R, a: A): R {
    return this.storage.run(activeContext, fn, a);
  }

  /** Runs `fn(a, b, c, d)` with `activeContext` active. */
  run4<A, B, C, D, R>(activeContext: Context, fn: (a: A, b: B, c: C, d: D) => R, a: A, b: B, c: C, d: D): R {
    return this.storage.run(activeContext, fn, a, b, c, d);
  }

  /** Takes a Node timer out of this manager's context (see {@link releaseTimerContext}). */
  releaseTimer(timer: unknown): void {
    if (this.timerRelease === undefined) this.timerRelease = timerContextRelease(this.storage) ?? null;
    this.timerRelease?.(timer);
  }

  override attach(activeContext: Context): DisposableContextScope {
    // Node 25.9 and later scope the change natively.
    const withScope = (this.storage as { withScope?: (store: Context) => DisposableContextScope }).withScope;
    if (withScope) return withScope.call(this.storage, activeContext);
    const previous = this.active();
    this.storage.enterWith(activeContext);
    let disposed = false;
    return {
      dispose: () => {
        if (disposed) return;
        disposed = true;
        this.storage.enterWith(previous);
      },
    };
  }

  override disable(): this {
    this.storage.disable();
    return super.disable();
  }
}

/** The library's manager while it is the one registered with the API; otherwise the API is asked. */
let registered: LibraryContextManager | undefined;

/** Registers a new {@link LibraryContextManager} with the API. False when another manager is registered already. */
export function registerContextManager(): boolean {
  const manager = new LibraryContextManager();
  if (!context.setGlobalContextManager(manager)) return false;
  registered = manager;
  return true;
}

/** Unregisters the API's context manager (whoever registered it), as `context.disable()` does. */
export function unregisterContextManager(): void {
  registered = undefined;
  context.disable();
}

/** The active context, as `context.active()` answers it. */
export function activeContext(): Context {
  return registered === undefined ? context.active() : registered.active();
}

/** `fn(a)` with `activeContext` active, as `context.with(activeContext, fn, undefined, a)` runs it. */
export function runInContext<A, R>(activeContext: Context, fn: (a: A) => R, a: A): R {
  if (registered === undefined) return context.with(activeContext, fn, undefined, a);
  return registered.run1(activeContext, fn, a);
}

/** `fn(a, b, c, d)` with `activeContext` active, as `context.with(activeContext, fn, undefined, a, b, c, d)` runs it. */
export function runInContext4<A, B, C, D, R>(activeContext: Context, fn: (a: A, b: B, c: C, d: D) => R, a: A, b: B, c: C, d: D): R {
  if (registered === undefined) return context.with(activeContext, fn, undefined, a, b, c, d);
  return registered.run4(activeContext, fn, a, b, c, d);
}

/**
 * Takes a Node timer out of the library's context: for a timer armed inside a request that outlives it and does
 * not belong to it, which would otherwise keep the request's context, spans included, alive until it fires or is
 * cleared. Does nothing when another context manager is registered.
 */
export function releaseTimerContext(timer: unknown): void {
  registered?.releaseTimer(timer);
}
