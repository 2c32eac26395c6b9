import {
  isSpanContextValid,
  propagation,
  trace,
  type BaggageEntry,
  type Context,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
} from '@opentelemetry/api';

/**
 * Several propagation formats at once, for services between callers that speak different ones (a B3 or Jaeger
 * migration).
 *
 * - Inject writes every format, so each callee reads the one it knows.
 * - Extract takes the trace context from one format only: the first, in `traceFormats` order, that the request
 *   carries validly. When formats disagree, the earlier one wins; the others do not overwrite it, as they would
 *   in a plain composite where the last format read wins.
 * - Baggage is merged from every format that carries some, `baggageFormats` last so that they win on a key.
 */
export class MultiFormatPropagator implements TextMapPropagator {
  private readonly all: readonly TextMapPropagator[];

  constructor(
    private readonly traceFormats: readonly TextMapPropagator[],
    private readonly baggageFormats: readonly TextMapPropagator[] = [],
  ) {
    this.all = [...traceFormats, ...baggageFormats];
  }

  inject(context: Context, carrier: unknown, setter: TextMapSetter): void {
    for (const format of this.all) format.inject(context, carrier, setter);
  }

  extract(context: Context, carrier: unknown, getter: TextMapGetter): Context {
    const incoming = trace.getSpanContext(context);
    const incomingBaggage = propagation.getBaggage(context);
    let result: Context | undefined;
    // Most requests carry no baggage: the merged entries are only built once a format found some.
    let baggage: Map<string, BaggageEntry> | undefined;
    for (let i = 0; i < this.all.length; i++) {
      const extracted = this.all[i].extract(context, carrier, getter);
      if (extracted === context) continue;
      const found = trace.getSpanContext(extracted);
      if (result === undefined && found !== incoming && found !== undefined && isSpanContextValid(found)) result = extracted;
      const carried = propagation.getBaggage(extracted);
      if (carried === undefined || carried === incomingBaggage) continue;
      baggage ??= new Map(incomingBaggage?.getAllEntries());
      for (const [key, entry] of carried.getAllEntries()) baggage.set(key, entry);
    }
    const chosen = result ?? context;
    if (baggage === undefined) return chosen;
    return propagation.setBaggage(chosen, propagation.createBaggage(Object.fromEntries(baggage)));
  }

  fields(): string[] {
    return [...new Set(this.all.flatMap((format) => format.fields()))];
  }
}
