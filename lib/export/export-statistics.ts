import { TracingRuntime } from '../sdk/tracing-runtime.js';
import type { ExportStatistics } from './otlp-export-processor.js';

/**
 * What the OTLP exporters of the running tracing SDK did with its sampled spans since it started: exported,
 * dropped (queue full), failed (refused for good, or unsent at shutdown), rejected by the collector (partial
 * success), retried export calls, and spans still queued. Zeros when tracing is not running. For health checks
 * and metrics; losses are also logged as one summary line per interval.
 */
export function exportStatistics(): ExportStatistics {
  return TracingRuntime.get().exportStatistics();
}
