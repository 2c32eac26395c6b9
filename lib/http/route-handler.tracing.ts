import { context, trace } from '@opentelemetry/api';
import type { RouteHandler } from '../handler-discovery.js';
import { copyMethodIdentity, hasMarker } from '../method-identity.js';
import { TracingRuntime } from '../sdk/tracing-runtime.js';
import { handlerAttributes, madeByNestCoreInstrumentation, runInSpan } from '../span-runner.js';

type AnyMethod = (this: unknown, ...args: unknown[]) => unknown;

const TRACED_ROUTE = Symbol.for('nestjs-tracing.traced-route');
const runtime = TracingRuntime.get();

/**
 * Gives every HTTP route handler a span (`UsersController.findOne`) by wrapping the controller method itself,
 * before Nest registers its routes. A global interceptor would do the same but puts every request of the app
 * through Nest's interceptor pipeline (rxjs), which costs more than the spans; the wrapper costs one check
 * when the request is not sampled. It runs after guards, interceptors and pipes, as the handler does.
 */
export function traceRouteHandlers(routes: readonly RouteHandler[]): void {
  for (const { controller, method } of routes) {
    const original = controller.prototype[method];
    if (typeof original !== 'function' || isTracedRoute(original)) continue;
    const own = Object.getOwnPropertyDescriptor(controller.prototype, method);
    if (own && !own.configurable && !own.writable) continue;
    // Defined on the controller itself, so a route inherited from a base controller is named after the subclass.
    Object.defineProperty(controller.prototype, method, {
      value: wrapRoute(original as AnyMethod, controller.name, method),
      writable: true,
      configurable: true,
      enumerable: own?.enumerable ?? false,
    });
  }
}

/** Whether the handler already makes its own span, so that the interceptor leaves it alone. */
export function isTracedRoute(handler: unknown): boolean {
  return hasMarker(handler, TRACED_ROUTE);
}

function wrapRoute(original: AnyMethod, controller: string, callback: string): AnyMethod {
  const name = `${controller}.${callback}`;
  const attributes = handlerAttributes(controller, callback, 'http');
  const wrapper = function (this: unknown, ...args: unknown[]): unknown {
    if (!runtime.running) return original.apply(this, args);
    const active = context.active();
    const parent = trace.getSpan(active);
    // Unsampled and ignored requests (and code outside a request) pay for this check only.
    if (!parent?.isRecording() || madeByNestCoreInstrumentation(parent)) return original.apply(this, args);
    return runInSpan(runtime.tracer.startSpan(name, { attributes }, active), active, () => original.apply(this, args));
  };
  copyMethodIdentity(original, wrapper, TRACED_ROUTE);
  return wrapper;
}

