import {
  Inject,
  Injectable,
  Optional,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { HttpAdapterHost, ModulesContainer } from '@nestjs/core';
import { traceEnhancers } from './enhancer-spans.js';
import { discoverHandlers } from './handler-discovery.js';
import { traceRouteHandlers } from './http/route-handler.tracing.js';
import { nestMajorVersion } from './sdk/instrumentations.js';
import type { Server } from 'node:http';
import { nameFastifyRoutes, restoreContextAtRoutes, traceHttpServer } from './http/http-server.tracing.js';
import { OTEL_RESOLVED_OPTIONS, OTEL_START_SOURCE } from './otel.constants.js';
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
    @Optional() private readonly adapterHost?: HttpAdapterHost,
    @Optional() private readonly modules?: ModulesContainer,
  ) {}

  /**
   * Runs when Nest configures middleware, after the HTTP adapter exists and before routes are registered (they
   * are registered before onModuleInit): wraps controller methods for handler spans, and the adapter's route
   * registration so that routes run in their request's context.
   */
  prepareRoutes(): void {
    if (!wrapsRouteHandlers(this.options)) return;
    if (this.modules) traceRouteHandlers(discoverHandlers(this.modules).httpRoutes);
    const adapter = this.adapterHost?.httpAdapter;
    if (adapter) restoreContextAtRoutes(adapter);
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
    traceHttpServer(server, () => (runtime.running ? runtime.tracer : undefined), this.options.interceptor);
    if (adapter.getType() === 'fastify') nameFastifyRoutes(adapter.getInstance());
  }
}

/**
 * On Nest 12 HTTP handlers get their spans from wrapped controller methods rather than from the interceptor.
 * Below 12, instrumentation-nestjs-core may own handler spans, and the interceptor defers to it.
 */
export function wrapsRouteHandlers(options: ResolvedOtelOptions): boolean {
  return options.enabled && options.interceptor.global && (nestMajorVersion() ?? 12) >= 12;
}
