import { createContextKey, propagation, ROOT_CONTEXT, trace, type Context } from '@opentelemetry/api';
import { LIBRARY_ROOT_CONTEXT } from './linked-context.js';

const A = createContextKey('a');
const B = createContextKey('b');

describe('the library context', () => {
  it('holds nothing, as ROOT_CONTEXT holds nothing', () => {
    expect(LIBRARY_ROOT_CONTEXT.getValue(A)).toBeUndefined();
    expect(LIBRARY_ROOT_CONTEXT.deleteValue(A)).toBe(LIBRARY_ROOT_CONTEXT);
  });

  it('sets, overrides and deletes values without changing the contexts it derives from', () => {
    const one = LIBRARY_ROOT_CONTEXT.setValue(A, 1);
    const two = one.setValue(B, 2).setValue(A, 3);
    const removed = two.deleteValue(A);
    expect([one.getValue(A), one.getValue(B)]).toEqual([1, undefined]);
    expect([two.getValue(A), two.getValue(B)]).toEqual([3, 2]);
    expect([removed.getValue(A), removed.getValue(B)]).toEqual([undefined, 2]);
    expect(removed.setValue(A, 4).getValue(A)).toBe(4);
    expect(LIBRARY_ROOT_CONTEXT.getValue(A)).toBeUndefined();
  });

  it('keeps undefined and falsy values apart from missing ones', () => {
    const context = LIBRARY_ROOT_CONTEXT.setValue(A, 0).setValue(B, null);
    expect(context.getValue(A)).toBe(0);
    expect(context.getValue(B)).toBeNull();
    expect(context.setValue(A, undefined).getValue(A)).toBeUndefined();
  });

  it('folds a long chain into one node, with the same values, newest winning', () => {
    const keys = Array.from({ length: 40 }, (_, i) => createContextKey(`k${i}`));
    let context: Context = LIBRARY_ROOT_CONTEXT;
    let reference: Context = ROOT_CONTEXT;
    for (let round = 0; round < 3; round++) {
      for (const [i, key] of keys.entries()) {
        context = i % 7 === 3 ? context.deleteValue(key) : context.setValue(key, `${round}:${i}`);
        reference = i % 7 === 3 ? reference.deleteValue(key) : reference.setValue(key, `${round}:${i}`);
      }
    }
    for (const key of keys) expect(context.getValue(key)).toBe(reference.getValue(key));
  });

  it('works with the API: spans and baggage set and read through it', () => {
    const span = trace.wrapSpanContext({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1 });
    const baggage = propagation.createBaggage({ tenant: { value: 'acme' } });
    const context = propagation.setBaggage(trace.setSpan(LIBRARY_ROOT_CONTEXT, span), baggage);
    expect(trace.getSpan(context)).toBe(span);
    expect(propagation.getBaggage(context)?.getEntry('tenant')?.value).toBe('acme');
    expect(trace.getSpan(trace.deleteSpan(context))).toBeUndefined();
  });
});
