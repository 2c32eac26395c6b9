/**
 * The official path, as the OpenTelemetry JS docs set it up for an Express-based app: NodeSDK preloaded with
 * `--import`, instrumentation-http and instrumentation-express, OTLP/gRPC with a batch processor.
 */
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace';
import { SpanCounter } from './span-counter.js';

export const counter = new SpanCounter();
(globalThis as { benchSpanCounter?: SpanCounter }).benchSpanCounter = counter;

const sdk = new NodeSDK({
  serviceName: 'bench-official',
  sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(Number(process.env.BENCH_RATIO ?? 1)) }),
  spanProcessors: [counter, new BatchSpanProcessor({ exporter: new OTLPTraceExporter() })],
  instrumentations: [new HttpInstrumentation(), new ExpressInstrumentation()],
});
sdk.start();
(globalThis as { benchShutdown?: () => Promise<void> }).benchShutdown = () => sdk.shutdown();
