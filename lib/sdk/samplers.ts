import {
  SamplingDecision,
  TraceFlags,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Sampler,
  type SamplingResult,
  type SpanKind,
} from '@opentelemetry/api';
import { TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace';
import type { ResolvedSampler } from '../otel.options.js';
import { isValidSpanContext } from './library-span-context.js';

/** Decisions that carry nothing else are shared: tracers only read them. */
const SAMPLED: SamplingResult = Object.freeze({ decision: SamplingDecision.RECORD_AND_SAMPLED });
const NOT_SAMPLED: SamplingResult = Object.freeze({ decision: SamplingDecision.NOT_RECORD });

/** Samples every span, or none: `always_on` and `always_off`. */
class ConstantSampler implements Sampler {
  constructor(private readonly sampled: boolean) {}

  shouldSample(): SamplingResult {
    return this.sampled ? SAMPLED : NOT_SAMPLED;
  }

  toString(): string {
    return this.sampled ? 'AlwaysOnSampler' : 'AlwaysOffSampler';
  }
}

/**
 * The `parentbased_*` samplers, with the default delegates of the specification: a span with a valid parent
 * follows the parent's sampled flag (remote or local alike), and a root span asks `root`. It makes the same
 * decisions as the SDK's `ParentBasedSampler` configured that way, without allocating a result or running the
 * API's id checks for parents the library's tracer made.
 */
class ParentBasedSampler implements Sampler {
  constructor(private readonly root: Sampler) {}

  shouldSample(context: Context, traceId: string, name: string, kind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult {
    const parent = trace.getSpanContext(context);
    if (parent === undefined || !isValidSpanContext(parent)) return this.root.shouldSample(context, traceId, name, kind, attributes, links);
    return (parent.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED ? SAMPLED : NOT_SAMPLED;
  }

  toString(): string {
    return `ParentBased{root=${this.root.toString()}}`;
  }
}

/** Builds the sampler a resolved sampler setting describes. */
export function createSampler(spec: ResolvedSampler): Sampler {
  switch (spec.kind) {
    case 'instance':
      return spec.sampler;
    case 'always_on':
      return new ConstantSampler(true);
    case 'always_off':
      return new ConstantSampler(false);
    case 'traceidratio':
      return ratioSampler(spec.ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler(new ConstantSampler(true));
    case 'parentbased_always_off':
      return new ParentBasedSampler(new ConstantSampler(false));
    case 'parentbased_traceidratio':
      return new ParentBasedSampler(ratioSampler(spec.ratio));
  }
}

/**
 * The edge ratios get the constant samplers: same decisions, without hashing every trace id. Other ratios use the
 * SDK's sampler, so that services on OpenTelemetry's other SDKs keep the same traces.
 */
function ratioSampler(ratio: number): Sampler {
  if (ratio >= 1) return new ConstantSampler(true);
  if (ratio <= 0) return new ConstantSampler(false);
  return new TraceIdRatioBasedSampler(ratio);
}
