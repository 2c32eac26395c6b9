/** A class of Nest's whose prototype the library wraps, reduced to the methods it touches. */
export type PipelinePrototype = Record<string, unknown>;

/**
 * The classes through which Nest runs a handler, found in the application's own copies of the Nest packages.
 * Each is absent when its package is not installed (microservices and websockets are optional).
 */
export interface NestPipelineClasses {
  /** `@nestjs/core`: builds the function that runs guards, interceptors, pipes and an HTTP route handler. */
  readonly routerExecutionContext?: PipelinePrototype;
  /** `@nestjs/microservices`: the same for a message or event pattern handler. */
  readonly rpcContextCreator?: PipelinePrototype;
  /** `@nestjs/microservices`: the base class of every microservice client (`send`, `emit`). */
  readonly clientProxy?: PipelinePrototype;
  /** `@nestjs/websockets`: the same for a `@SubscribeMessage()` handler. */
  readonly wsContextCreator?: PipelinePrototype;
}

/** Where each class lives; the paths are the same in Nest 10, 11 and 12. */
const LOCATIONS: Record<keyof NestPipelineClasses, [specifier: string, exportName: string]> = {
  routerExecutionContext: ['@nestjs/core/router/router-execution-context.js', 'RouterExecutionContext'],
  rpcContextCreator: ['@nestjs/microservices/context/rpc-context-creator.js', 'RpcContextCreator'],
  clientProxy: ['@nestjs/microservices/client/client-proxy.js', 'ClientProxy'],
  wsContextCreator: ['@nestjs/websockets/context/ws-context-creator.js', 'WsContextCreator'],
};

/**
 * Loads the classes with `import()`, which resolves to the same module instances the application runs (a CommonJS
 * Nest through the require cache, an ES-module Nest through the module map). A package that is missing, or a
 * future Nest that moved a class, leaves that entry out instead of failing.
 */
export async function loadNestPipelineClasses(): Promise<NestPipelineClasses> {
  const entries = await Promise.all(
    Object.entries(LOCATIONS).map(async ([key, [specifier, exportName]]) => [key, await loadPrototype(specifier, exportName)] as const),
  );
  return Object.fromEntries(entries.filter(([, prototype]) => prototype !== undefined));
}

async function loadPrototype(specifier: string, exportName: string): Promise<PipelinePrototype | undefined> {
  try {
    const loaded = (await import(specifier)) as Record<string, unknown>;
    const found = loaded[exportName] ?? (loaded.default as Record<string, unknown> | undefined)?.[exportName];
    return typeof found === 'function' ? (found.prototype as PipelinePrototype) : undefined;
  } catch {
    return undefined;
  }
}
