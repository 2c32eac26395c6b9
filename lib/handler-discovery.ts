/** What the container holds for each class: its wrapper, with the class (`metatype`) once scanned. */
interface ClassWrapperLike {
  readonly metatype?: unknown;
  readonly instance?: unknown;
}

/** The part of Nest's `ModulesContainer` (a Map of modules) the library reads. */
export interface ModulesLike {
  values(): Iterable<{
    controllers: Map<unknown, ClassWrapperLike>;
    providers: Map<unknown, ClassWrapperLike>;
    injectables: Map<unknown, ClassWrapperLike>;
  }>;
}

/** A controller method Nest serves over HTTP. */
export interface RouteHandler {
  readonly controller: { name: string; prototype: Record<string, unknown> };
  readonly method: string;
}

/** The handlers of an application, as far as tracing cares. */
export interface DiscoveredHandlers {
  readonly httpRoutes: RouteHandler[];
  /** Message patterns, WebSocket gateways or GraphQL resolvers exist: they need the interceptor. */
  readonly hasNonHttpHandlers: boolean;
}

const PATH_METADATA = 'path';
const METHOD_METADATA = 'method';
const PATTERN_METADATA = 'microservices:pattern';
const GATEWAY_METADATA = 'websockets:is_gateway';
const RESOLVER_TYPE_METADATA = 'graphql:resolver_type';

/** Reads route, pattern, gateway and resolver metadata off every scanned class, without instances. */
export function discoverHandlers(modules: ModulesLike): DiscoveredHandlers {
  const httpRoutes: RouteHandler[] = [];
  let hasNonHttpHandlers = false;
  for (const module of modules.values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = classOf(wrapper);
      if (!controller) continue;
      for (const method of methodNames(controller.prototype)) {
        const handler = controller.prototype[method];
        if (metadata(PATTERN_METADATA, handler) !== undefined) hasNonHttpHandlers = true;
        else if (metadata(PATH_METADATA, handler) !== undefined && metadata(METHOD_METADATA, handler) !== undefined) {
          httpRoutes.push({ controller, method });
        }
      }
    }
    for (const wrapper of module.providers.values()) {
      const provider = classOf(wrapper);
      if (provider && (metadata(GATEWAY_METADATA, provider) || isResolver(provider))) hasNonHttpHandlers = true;
    }
  }
  return { httpRoutes, hasNonHttpHandlers };
}

function isResolver(provider: RouteHandler['controller']): boolean {
  if (metadata(RESOLVER_TYPE_METADATA, provider) !== undefined) return true;
  return methodNames(provider.prototype).some((name) => metadata(RESOLVER_TYPE_METADATA, provider.prototype[name]) !== undefined);
}

function classOf(wrapper: ClassWrapperLike): RouteHandler['controller'] | undefined {
  const metatype = wrapper.metatype;
  return typeof metatype === 'function' && metatype.prototype ? (metatype as unknown as RouteHandler['controller']) : undefined;
}

/** Method names of a prototype and the classes it extends: Nest serves routes a base controller declares. */
function methodNames(prototype: Record<string, unknown>): string[] {
  const names = new Set<string>();
  for (let at: object | null = prototype; at && at !== Object.prototype; at = Object.getPrototypeOf(at)) {
    for (const name of Object.getOwnPropertyNames(at)) {
      if (name === 'constructor' || names.has(name)) continue;
      const descriptor = Object.getOwnPropertyDescriptor(at, name);
      if (typeof descriptor?.value === 'function') names.add(name);
    }
  }
  return [...names];
}

function metadata(key: string, target: unknown): unknown {
  if (target === null || (typeof target !== 'object' && typeof target !== 'function')) return undefined;
  const reflect = Reflect as unknown as { getMetadata?: (key: string, target: object) => unknown };
  return reflect.getMetadata?.(key, target);
}
