import { SpanKind, trace, type Attributes } from '@opentelemetry/api';
import { startRpcEntry } from '../adapters/rpc.adapter.js';
import { startWsEntry } from '../adapters/ws.adapter.js';
import { traceClientProxies } from '../rpc/client-proxy.tracing.js';
import { startOwnedSpan } from '../sdk/library-tracer.js';
import { TracingRuntime } from '../sdk/tracing-runtime.js';
import { handlerAttributes, runInSpan } from '../span-runner.js';
import type { ResolvedOtelOptions } from '../otel.options.js';
import { loadNestPipelineClasses, type PipelinePrototype } from './nest-pipelines.js';
import { activeContext } from '../sdk/context-manager.js';

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;
type Transport = 'http' | 'rpc' | 'ws';

const runtime = TracingRuntime.get();
const PATCHED = Symbol.for('nestjs-tracing.patched-pipeline');
/** Controller methods whose pipelines make their own spans; the interceptor leaves them alone. */
const tracedCallbacks = new WeakSet<object>();

/**
 * Whether pipelines built from now on get spans. Nest builds them while an application initialises, right after
 * the module set this from its options (`interceptor.global`), so each application gets what it asked for.
 */
export const handlerTracingSwitch = { enabled: true };

/** Whether an application with these options traces its handlers (`interceptor.global: false` turns it off). */
export function tracesHandlers(options: ResolvedOtelOptions): boolean {
  return options.enabled && options.interceptor.global;
}

let installed: Promise<void> | undefined;

/**
 * Gives every handler Nest runs a span named `Controller.method` that covers its whole pipeline (guards,
 * interceptors, pipes and the handler): HTTP routes, message and event patterns, and WebSocket messages, the
 * latter two under an entry span of their own. Done once per process by wrapping the `create` methods of the
 * classes Nest builds those pipelines with, so it needs no interceptor and reaches hybrid microservices
 * whatever `inheritAppConfig` says, standalone microservices and every WebSocket platform alike.
 */
export function installHandlerTracing(): Promise<void> {
  installed ??= loadNestPipelineClasses().then((classes) => {
    if (classes.routerExecutionContext) tracePipelines(classes.routerExecutionContext, 'http');
    if (classes.rpcContextCreator) tracePipelines(classes.rpcContextCreator, 'rpc');
    if (classes.wsContextCreator) tracePipelines(classes.wsContextCreator, 'ws');
    if (classes.clientProxy) traceClientProxies(classes.clientProxy);
  });
  return installed;
}

/** Whether `callback`'s pipeline already makes a span, so that a hand-applied interceptor does not add one. */
export function isTracedHandler(callback: unknown): boolean {
  return typeof callback === 'function' && tracedCallbacks.has(callback);
}

/** The proxy factory a microservice or gateway context creator hands the pipeline to. */
const PROXY_FACTORY: Record<Exclude<Transport, 'http'>, string> = { rpc: 'rpcProxy', ws: 'wsProxy' };

function tracePipelines(prototype: PipelinePrototype, transport: Transport): void {
  const create = prototype.create as (AnyFunction & { __wrapped?: boolean; [PATCHED]?: true }) | undefined;
  if (typeof create !== 'function' || create[PATCHED]) return;
  // instrumentation-nestjs-core, registered by the user on Nest below 12, already wraps HTTP pipelines in spans.
  if (transport === 'http' && create.__wrapped) return;
  const traced = function (this: Record<string, unknown>, instance: unknown, callback: unknown, ...rest: unknown[]): unknown {
    if (!handlerTracingSwitch.enabled || typeof callback !== 'function') return create.call(this, instance, callback, ...rest);
    const methodName = String(transport === 'http' ? rest[0] : rest[1]);
    const span = handlerSpanOptions(instance, methodName || callback.name, transport);
    tracedCallbacks.add(callback);
    if (transport === 'http') return traceHttpPipeline(create.call(this, instance, callback, ...rest) as AnyFunction, span);
    return withTracedTarget(this, PROXY_FACTORY[transport], (target) => traceMessagePipeline(target, callback, span, transport), () =>
      create.call(this, instance, callback, ...rest),
    );
  } as AnyFunction & { [PATCHED]?: true };
  traced[PATCHED] = true;
  prototype.create = traced;
}

interface HandlerSpan {
  readonly name: string;
  /** Copied into each span, which owns its attributes. */
  readonly attributes: Attributes;
}

/** Computed once per handler, when Nest builds its pipeline, so requests pay nothing for names. */
function handlerSpanOptions(instance: unknown, methodName: string, transport: Transport): HandlerSpan {
  // The serving class, also for a route inherited from a base controller.
  const controller = (instance as { constructor?: { name?: string } } | null)?.constructor?.name ?? 'Handler';
  return { name: `${controller}.${methodName}`, attributes: handlerAttributes(controller, methodName, transport) };
}

/**
 * The HTTP pipeline function throws what the handler or an enhancer threw (Nest's exception filters run outside
 * it), so the span records the original exception. Unsampled and ignored requests pay for one check.
 */
function traceHttpPipeline(pipeline: AnyFunction, handler: HandlerSpan): AnyFunction {
  // Nest calls the pipeline with (request, response, next): named parameters spare every request an arguments array.
  return function (this: unknown, request: unknown, response: unknown, next: unknown): unknown {
    if (!runtime.running) return pipeline.call(this, request, response, next);
    const active = activeContext();
    if (!trace.getSpan(active)?.isRecording()) return pipeline.call(this, request, response, next);
    const span = startOwnedSpan(runtime.tracer, handler.name, SpanKind.INTERNAL, { ...handler.attributes }, active);
    return runInSpan(span, active, () => pipeline.call(this, request, response, next));
  };
}

/**
 * Microservice and gateway pipelines hand their work to a proxy that turns exceptions into replies, so the span
 * wraps the work itself (`target`) and sees the original exception. An entry span (the message's SERVER or
 * CONSUMER span, or the WebSocket message's) holds the handler span.
 */
function traceMessagePipeline(target: AnyFunction, callback: object, handler: HandlerSpan, transport: Transport): AnyFunction {
  return function (this: unknown, ...args: unknown[]): unknown {
    if (!runtime.running) return target.apply(this, args);
    const tracer = runtime.tracer;
    // A message handler gets (data, rpcContext); a gateway handler (client, data, pattern).
    const entry = transport === 'rpc' ? startRpcEntry(args[1], callback, tracer) : startWsEntry(args[2], callback, tracer);
    return runInSpan(entry.span, entry.context, () => {
      const active = activeContext();
      return runInSpan(startOwnedSpan(tracer, handler.name, SpanKind.INTERNAL, { ...handler.attributes }, active), active, () => target.apply(this, args));
    });
  };
}

/**
 * Runs `create` while the creator's proxy factory hands every target it wraps through `wrap` first. `create` is
 * synchronous, so the factory is put back before anything else can run.
 */
function withTracedTarget(creator: Record<string, unknown>, key: string, wrap: (target: AnyFunction) => AnyFunction, create: () => unknown): unknown {
  const factory = creator[key] as { create?: (target: AnyFunction, ...rest: unknown[]) => unknown } | undefined;
  if (typeof factory?.create !== 'function') return create();
  const shim = Object.create(factory) as typeof factory;
  shim.create = (target: AnyFunction, ...rest: unknown[]) => factory.create!(wrap(target), ...rest);
  creator[key] = shim;
  try {
    return create();
  } finally {
    creator[key] = factory;
  }
}
