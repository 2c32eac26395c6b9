import { Module, type DynamicModule, type FactoryProvider, type ModuleMetadata, type NestModule, type Provider } from '@nestjs/common';
import { APP_INTERCEPTOR, ModulesContainer } from '@nestjs/core';
import { hasGraphqlResolvers } from './handler-discovery.js';
import { handlerTracingSwitch, installHandlerTracing, tracesHandlers } from './handlers/handler-tracing.js';
import { OtelLifecycle } from './otel-lifecycle.service.js';
import { OTEL_HANDLER_TRACING, OTEL_RESOLVED_OPTIONS, OTEL_START_SOURCE } from './otel.constants.js';
import { resolveOtelOptions, type OtelModuleOptions, type ResolvedOtelOptions } from './otel.options.js';
import { TracingRuntime } from './sdk/tracing-runtime.js';
import { TraceService } from './trace.service.js';
import { TracingInterceptor } from './tracing.interceptor.js';

/** Options of {@link OtelModule.forRootAsync}: a factory, with the modules and providers it needs. */
export interface OtelModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /** Builds the options, e.g. from `ConfigService`. */
  useFactory: (...args: never[]) => OtelModuleOptions | Promise<OtelModuleOptions>;
  /** Providers passed to the factory, in order. */
  inject?: FactoryProvider['inject'];
}

/**
 * Distributed tracing for a Nest application: owns the OpenTelemetry SDK (start, flush, shutdown), opens a
 * server span per HTTP request and a span per handler. Import it once, in the root module.
 */
@Module({})
export class OtelModule implements NestModule {
  constructor(private readonly lifecycle: OtelLifecycle) {}

  /** Nest calls this after providers exist and before it registers routes: the moment to wrap them. */
  configure(): void {
    this.lifecycle.prepareRoutes();
  }

  /**
   * Resolves the options against the `OTEL_*` environment and starts the SDK right away, while `AppModule` is
   * being imported and before Nest loads its HTTP platform, so auto-instrumentation can patch it.
   *
   * @throws {@link OtelConfigError} when an option or variable holds a value that cannot be used.
   */
  static forRoot(options: OtelModuleOptions = {}): DynamicModule {
    const resolved = resolveOtelOptions(options);
    TracingRuntime.get().ensureStarted(resolved, 'forRoot');
    return OtelModule.assemble([{ provide: OTEL_RESOLVED_OPTIONS, useValue: resolved }], 'forRoot');
  }

  /**
   * Builds the options in a provider factory (for `ConfigService` users). The SDK starts as soon as they are
   * built, while Nest creates providers, after `http` and the platform loaded: server and handler spans still
   * work, and database drivers loaded earlier are patched late, but modules loaded earlier are not fully
   * auto-instrumented, which a warning names. Preload `nestjs-tracing/register` to avoid that.
   */
  static forRootAsync(options: OtelModuleAsyncOptions): DynamicModule {
    const optionsProvider: Provider = {
      provide: OTEL_RESOLVED_OPTIONS,
      useFactory: async (...args: never[]) => {
        const resolved = resolveOtelOptions(await options.useFactory(...args));
        // Before module init: a hybrid app's microservices start consuming before the app's init hooks run.
        TracingRuntime.get().ensureStarted(resolved, 'forRootAsync');
        return resolved;
      },
      inject: options.inject ?? [],
    };
    return { ...OtelModule.assemble([optionsProvider], 'forRootAsync'), imports: options.imports ?? [] };
  }

  private static assemble(optionProviders: Provider[], source: string): DynamicModule {
    const globalInterceptor: Provider = {
      provide: APP_INTERCEPTOR,
      useFactory: globalInterceptorFor,
      inject: [OTEL_RESOLVED_OPTIONS, TracingInterceptor, { token: ModulesContainer, optional: true }],
    };
    // Resolved while Nest loads providers, so before it builds any route, message or gateway pipeline.
    const handlerTracing: Provider = {
      provide: OTEL_HANDLER_TRACING,
      useFactory: async (options: ResolvedOtelOptions) => {
        handlerTracingSwitch.enabled = tracesHandlers(options);
        await installHandlerTracing();
        return handlerTracingSwitch;
      },
      inject: [OTEL_RESOLVED_OPTIONS],
    };
    return {
      module: OtelModule,
      global: true,
      providers: [
        ...optionProviders,
        handlerTracing,
        { provide: OTEL_START_SOURCE, useValue: source },
        OtelLifecycle,
        TracingInterceptor,
        TraceService,
        globalInterceptor,
      ],
      exports: [OTEL_RESOLVED_OPTIONS, TracingInterceptor, TraceService],
    };
  }
}

/**
 * The global interceptor, only where it has work: GraphQL resolvers. Otherwise none at all (Nest skips a global
 * enhancer a factory returns null for), because any interceptor puts every request through Nest's rxjs pipeline;
 * routes, messages and gateway events get their spans from their pipelines instead (see `handlers/`).
 */
function globalInterceptorFor(
  options: ResolvedOtelOptions,
  interceptor: TracingInterceptor,
  modules: ModulesContainer | undefined,
): TracingInterceptor | null {
  if (!tracesHandlers(options)) return null;
  return !modules || hasGraphqlResolvers(modules) ? interceptor : null;
}
