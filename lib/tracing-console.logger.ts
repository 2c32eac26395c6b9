import { ConsoleLogger } from '@nestjs/common';
import { trace } from '@opentelemetry/api';
import { activeContext } from './sdk/context-manager.js';

/** Log fields naming the active span, in the OpenTelemetry log data model's spelling. */
export interface TraceLogFields {
  trace_id: string;
  span_id: string;
  trace_flags: string;
}

/**
 * The ids of the active span as log fields, or undefined outside a valid span. For any logger: pino's `mixin`,
 * a winston `format`, or a hand-written one.
 */
export function traceLogFields(): TraceLogFields | undefined {
  const ids = trace.getSpan(activeContext())?.spanContext();
  if (!ids || !trace.isSpanContextValid(ids)) return undefined;
  return { trace_id: ids.traceId, span_id: ids.spanId, trace_flags: ids.traceFlags.toString(16).padStart(2, '0') };
}

type JsonLogOptions = Parameters<ConsoleLogger['getJsonLogObject']>[1];

/**
 * Nest's `ConsoleLogger` with the active span's `trace_id` and `span_id` on every line written inside a span:
 * as fields of the JSON object in `json` mode, as `trace_id=… span_id=…` after the context otherwise.
 *
 * @example
 * const app = await NestFactory.create(AppModule, { logger: new TracingConsoleLogger({ json: true }) });
 */
export class TracingConsoleLogger extends ConsoleLogger {
  protected override formatContext(context: string): string {
    const fields = traceLogFields();
    const formatted = super.formatContext(context);
    return fields ? `${formatted}trace_id=${fields.trace_id} span_id=${fields.span_id} ` : formatted;
  }

  protected override getJsonLogObject(message: unknown, options: JsonLogOptions): ReturnType<ConsoleLogger['getJsonLogObject']> {
    const record = super.getJsonLogObject(message, options);
    const fields = traceLogFields();
    return fields ? { ...record, ...fields } : record;
  }
}

