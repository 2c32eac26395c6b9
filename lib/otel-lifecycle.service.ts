import {
  Inject,
  Injectable,
  Optional,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { HttpAdapterHost, ModulesContainer } from '@nestjs/core';
import { addGraphqlRequestErrorsPlugin } from './adapters/graphql.adapter.js';
import { traceEnhancers } from './enhancer-spans.js';
import { tracesHandlers } from './handlers/handler-tracing.js';
import type { Server } from 'node:http';
import { nameFastifyRoutes, restoreContextAtRoutes, traceHttpServer } from './http/http-server.tracing.js';
import { OTEL_HANDLER_TRACING, OTEL_RESOLVED_OPTIONS, OTEL_START_SOURCE } from './otel.constants.js';
import type { ResolvedOtelOptions } from './otel.options.js';
import { TracingRuntime, type StartSource } from './sdk/tracing-runtime.js';

/**
 * Ties the process's tracing SDK to one Nest application: takes a lease on init, hooks the HTTP server, and
 * flushes then releases in `onApplicationShutdown`, which Nest calls after the HTTP server closed and in-flight
 * requests finished (`beforeApplicationShutdown` would still see requests arrive).
 */
@Injectable()
export class OtelLifecycle implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly runtime = TracingRuntime.get();
  private leased = false;

  constructor(
    @Inject(OTEL_RESOLVED_OPTIONS) private readonly options: ResolvedOtelOptions,
    @Inject(OTEL_START_SOURCE) private readonly source: StartSource,
    // Injected so that handler tracing is installed before this app's pipelines are built.
    @Inject(OTEL_HANDLER_TRACING) private readonly handlerTracing: { enabled: boolean },
    @Optional() private readonly adapterHost?: HttpAdapterHost,
    @Optional() private readonly modules?: ModulesContainer,
  ) {}

  /**
   * Runs when Nest configures middleware, after the HTTP adapter exists and before routes are registered (they
   * are registered before onModuleInit): wraps the adapter's route registration so that routes run in their
   * request's context, and sets handler tracing for the pipelines Nest is about to build.
   */
  prepareRoutes(): void {
    this.handlerTracing.enabled = tracesHandlers(this.options);
    if (!this.handlerTracing.enabled) return;
    const adapter = this.adapterHost?.httpAdapter;
    if (adapter) restoreContextAtRoutes(adapter);
    for (const module of this.modules?.values() ?? []) addGraphqlRequestErrorsPlugin(module.providers.entries());
  }

  onModuleInit(): void {
    if (!this.options.enabled) return;
    this.runtime.acquire(this.options, this.source);
    this.leased = true;
    this.traceHttpServer();
  }

  onApplicationBootstrap(): void {
    // Every module's instances exist by now, the guards and pipes of modules initialised after this one too.
    if (this.leased && this.modules) traceEnhancers(this.modules, this.options.interceptor.enhancerSpans);
    this.warnWithoutShutdownHooks();
  }

  private warnWithoutShutdownHooks(): void {
    if (!this.leased || !this.options.warnOnMissingShutdownHooks) return;
    // Checked a turn later so that enableShutdownHooks() right after init() counts.
    setImmediate(() => {
      if (process.listenerCount('SIGTERM') === 0) this.runtime.warnOnceAboutShutdownHooks();
    }).unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.leased) return;
    this.leased = false;
    await this.runtime.release(this.options.shutdownTimeoutMillis);
  }

  private traceHttpServer(): void {
    const adapter = this.adapterHost?.httpAdapter;
    const server = adapter?.getHttpServer() as Server | undefined;
    if (!adapter || typeof server?.listeners !== 'function') return;
    const runtime = this.runtime;
    traceHttpServer(server, () => runtime.serverTracing, this.options.interceptor);
    if (adapter.getType() === 'fastify') nameFastifyRoutes(adapter.getInstance());
  }
}
