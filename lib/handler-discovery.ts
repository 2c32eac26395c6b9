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

type ClassLike = { prototype: Record<string, unknown> };

const RESOLVER_TYPE_METADATA = 'graphql:resolver_type';

/**
 * Whether the application has GraphQL resolvers, which need the tracing interceptor (every other handler is
 * traced through its pipeline). Reads metadata off every scanned provider, without instances.
 */
export function hasGraphqlResolvers(modules: ModulesLike): boolean {
  for (const module of modules.values()) {
    for (const wrapper of module.providers.values()) {
      const provider = classOf(wrapper);
      if (provider && isResolver(provider)) return true;
    }
  }
  return false;
}

function isResolver(provider: ClassLike): boolean {
  if (metadata(RESOLVER_TYPE_METADATA, provider) !== undefined) return true;
  return methodNames(provider.prototype).some((name) => metadata(RESOLVER_TYPE_METADATA, provider.prototype[name]) !== undefined);
}

function classOf(wrapper: ClassWrapperLike): ClassLike | undefined {
  const metatype = wrapper.metatype;
  return typeof metatype === 'function' && metatype.prototype ? (metatype as unknown as ClassLike) : undefined;
}

/** Method names of a prototype and the classes it extends. */
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
