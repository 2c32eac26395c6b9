import { ROOT_CONTEXT } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace';
import { IGNORES_SPAN_START, ProcessorChain } from './processor-chain.js';

function recorder(name: string, calls: string[], hooks: { ending?: boolean; ignoresStart?: boolean } = {}): SpanProcessor {
  const processor: SpanProcessor & { [IGNORES_SPAN_START]?: true } = {
    onStart: () => calls.push(`${name}.onStart`),
    onEnd: () => calls.push(`${name}.onEnd`),
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  };
  if (hooks.ending) processor.onEnding = () => calls.push(`${name}.onEnding`);
  if (hooks.ignoresStart) processor[IGNORES_SPAN_START] = true;
  return processor;
}

describe('ProcessorChain', () => {
  const span = {} as Span;

  it('calls each hook in processor order, onStart only where it is looked at and onEnding only where it exists', () => {
    const calls: string[] = [];
    const chain = new ProcessorChain([recorder('redaction', calls, { ignoresStart: true }), recorder('user', calls, { ending: true }), recorder('export', calls, { ignoresStart: true })]);
    chain.start(span, ROOT_CONTEXT);
    chain.endingSpan(span);
    chain.end(span as unknown as ReadableSpan);
    expect(calls).toEqual(['user.onStart', 'user.onEnding', 'redaction.onEnd', 'user.onEnd', 'export.onEnd']);
  });

  it.each([1, 3, 4, 5, 8, 9, 13])('ends a span on each of %i processors once, in order', (count) => {
    const calls: string[] = [];
    const chain = new ProcessorChain(Array.from({ length: count }, (_, i) => recorder(`p${i}`, calls)));
    chain.end(span as unknown as ReadableSpan);
    expect(calls).toEqual(Array.from({ length: count }, (_, i) => `p${i}.onEnd`));
  });

  it('reaches a method replaced after the chain was made, as a test spy replaces it', () => {
    const calls: string[] = [];
    const processor = recorder('user', calls);
    const chain = new ProcessorChain([processor]);
    const ended: unknown[] = [];
    processor.onEnd = (finished) => ended.push(finished);
    chain.end(span as unknown as ReadableSpan);
    expect(ended).toEqual([span]);
    expect(calls).toEqual([]);
  });
});
