import { ROOT_CONTEXT, SamplingDecision, SpanKind, TraceFlags, trace, type Context, type Sampler, type SpanContext } from '@opentelemetry/api';
import { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace';
import { LibrarySpanContext } from './library-span-context.js';
import { createSampler, rootSamplingBound } from './samplers.js';
import { newTraceId, NOT_FROM_POOL } from './span-ids.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';

function withParent(parent: SpanContext): Context {
  return trace.setSpanContext(ROOT_CONTEXT, parent);
}

/** Every kind of parent a span can have, each sampled and not. */
const PARENTS: [string, Context][] = [
  ['no parent', ROOT_CONTEXT],
  ['an invalid parent', withParent({ traceId: '0'.repeat(32), spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED })],
  ['a malformed parent', withParent({ traceId: 'not-hex', spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED })],
  ['a sampled remote parent', withParent({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED, isRemote: true })],
  ['an unsampled remote parent', withParent({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.NONE, isRemote: true })],
  ['a sampled local parent', withParent({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED | 2 })],
  ['an unsampled local parent', withParent({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 2 })],
  ['a sampled library parent', withParent(new LibrarySpanContext(TRACE_ID, SPAN_ID, TraceFlags.SAMPLED, undefined, undefined, NOT_FROM_POOL, 0, NOT_FROM_POOL, 0))],
  ['an unsampled library parent', withParent(new LibrarySpanContext(TRACE_ID, SPAN_ID, TraceFlags.NONE, undefined, undefined, NOT_FROM_POOL, 0, NOT_FROM_POOL, 0))],
];

/** Trace ids on both sides of a 0.25 ratio, so that the ratio decision matters. */
const TRACE_IDS = ['00000000000000000000000000000001', 'ffffffffffffffffffffffffffffffff', TRACE_ID, '3fffffff000000000000000000000000'];

/** The XOR of a trace id's four big-endian 32-bit words, unsigned, from its hex. */
function wordsXor(traceId: string): number {
  let xor = 0;
  for (let at = 0; at < 32; at += 8) xor = (xor ^ Number.parseInt(traceId.slice(at, at + 8), 16)) >>> 0;
  return xor;
}

function decide(sampler: Sampler, context: Context, traceId: string): SamplingDecision {
  return sampler.shouldSample(context, traceId, 'GET /', SpanKind.SERVER, {}, []).decision;
}

describe('samplers', () => {
  const cases: [Parameters<typeof createSampler>[0], Sampler][] = [
    [{ kind: 'always_on' }, new AlwaysOnSampler()],
    [{ kind: 'always_off' }, new AlwaysOffSampler()],
    [{ kind: 'traceidratio', ratio: 0.25 }, new TraceIdRatioBasedSampler(0.25)],
    [{ kind: 'parentbased_always_on' }, new ParentBasedSampler({ root: new AlwaysOnSampler() })],
    [{ kind: 'parentbased_always_off' }, new ParentBasedSampler({ root: new AlwaysOffSampler() })],
    [{ kind: 'parentbased_traceidratio', ratio: 0.25 }, new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.25) })],
    [{ kind: 'parentbased_traceidratio', ratio: 1 }, new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(1) })],
    [{ kind: 'parentbased_traceidratio', ratio: 0 }, new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0) })],
  ];

  it.each(cases)('%j decides as the SDK sampler does, for every parent and trace id', (spec, sdk) => {
    const ours = createSampler(spec);
    for (const [label, context] of PARENTS) {
      for (const traceId of TRACE_IDS) {
        expect({ label, traceId, decision: decide(ours, context, traceId) }).toEqual({ label, traceId, decision: decide(sdk, context, traceId) });
      }
    }
  });

  it.each([0.001, 0.1, 0.5, 0.999])('decides as the SDK ratio sampler does at %f, for random, upper-case and malformed trace ids', (ratio) => {
    const ours = createSampler({ kind: 'traceidratio', ratio });
    const sdk = new TraceIdRatioBasedSampler(ratio);
    const ids = Array.from({ length: 3000 }, newTraceId);
    const malformed = ['0'.repeat(32), 'g'.repeat(32), TRACE_ID.slice(1), `${TRACE_ID}0`, `${TRACE_ID.slice(0, 31)}ä`, `${TRACE_ID.slice(0, 31)}-`, ''];
    const all = [...ids, ...ids.slice(0, 500).map((id) => id.toUpperCase()), ...malformed];
    let sampled = 0;
    for (const traceId of all) {
      const decision = decide(ours, ROOT_CONTEXT, traceId);
      expect({ traceId, decision }).toEqual({ traceId, decision: decide(sdk, ROOT_CONTEXT, traceId) });
      if (decision === SamplingDecision.RECORD_AND_SAMPLED) sampled++;
    }
    expect(sampled / all.length).toBeGreaterThan(ratio / 2 - 0.01);
    expect(sampled / all.length).toBeLessThan(Math.min(1, ratio * 1.5 + 0.01));
  });

  it.each(cases)("%j gives a root bound that decides new traces as the SDK sampler does", (spec, sdk) => {
    const bound = rootSamplingBound(createSampler(spec));
    expect(bound).toBeDefined();
    const ids = [...TRACE_IDS, ...Array.from({ length: 2000 }, newTraceId)];
    for (const traceId of ids) {
      const byBound = wordsXor(traceId) < bound! ? SamplingDecision.RECORD_AND_SAMPLED : SamplingDecision.NOT_RECORD;
      expect({ traceId, decision: byBound }).toEqual({ traceId, decision: decide(sdk, ROOT_CONTEXT, traceId) });
    }
  });

  it('gives no root bound for a sampler of the app, which must be asked', () => {
    expect(rootSamplingBound(new AlwaysOnSampler())).toBeUndefined();
    expect(rootSamplingBound(createSampler({ kind: 'instance', sampler: new TraceIdRatioBasedSampler(0.5) }))).toBeUndefined();
  });

  it('hands back a sampler given as an instance untouched', () => {
    const sampler = new AlwaysOnSampler();
    expect(createSampler({ kind: 'instance', sampler })).toBe(sampler);
  });

  it('describes itself as the SDK samplers do', () => {
    expect(createSampler({ kind: 'parentbased_traceidratio', ratio: 0.25 }).toString()).toBe('ParentBased{root=TraceIdRatioBased{0.25}}');
    expect(createSampler({ kind: 'always_off' }).toString()).toBe('AlwaysOffSampler');
  });
});
