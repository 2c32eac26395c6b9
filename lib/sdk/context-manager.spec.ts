import { context, createContextKey, ROOT_CONTEXT, type Context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { EventEmitter } from 'node:events';
import { activeContext, registerContextManager, runInContext, runInContext4, unregisterContextManager } from './context-manager.js';

const KEY = createContextKey('test');
const withValue = (value: string): Context => ROOT_CONTEXT.setValue(KEY, value);
const valueNow = () => activeContext().getValue(KEY);

describe('the library context manager', () => {
  afterEach(() => unregisterContextManager());

  it('runs work in a context, through async steps, and restores the one before', async () => {
    expect(registerContextManager()).toBe(true);
    const seen = await runInContext(withValue('outer'), async (label: string) => {
      const inner = runInContext4(withValue('inner'), (a: number, b: number, c: number, d: number) => [valueNow(), a + b + c + d], 1, 2, 3, 4);
      await new Promise((resolve) => setImmediate(resolve));
      return [label, valueNow(), context.active().getValue(KEY), inner];
    }, 'label');
    expect(seen).toEqual(['label', 'outer', 'outer', ['inner', 10]]);
    expect(valueNow()).toBeUndefined();
  });

  it('keeps the API working as it does: with a this, bound functions, bound event emitters and attach', () => {
    registerContextManager();
    const receiver = { name: 'receiver' };
    expect(context.with(withValue('with'), function (this: typeof receiver, suffix: string) {
      return `${this.name}:${valueNow()}${suffix}`;
    }, receiver, '!')).toBe('receiver:with!');
    const bound = context.bind(withValue('bound'), () => valueNow());
    expect(bound()).toBe('bound');
    const emitter = context.bind(withValue('emitter'), new EventEmitter());
    let heard: unknown;
    emitter.on('ping', () => (heard = valueNow()));
    emitter.emit('ping');
    expect(heard).toBe('emitter');
    const scope = context.attach(withValue('attached'));
    expect(valueNow()).toBe('attached');
    scope.dispose();
    scope.dispose();
    expect(valueNow()).toBeUndefined();
  });

  it('leaves another registered manager in charge, and its own helpers then go through the API', () => {
    const other = new AsyncLocalStorageContextManager();
    expect(context.setGlobalContextManager(other)).toBe(true);
    expect(registerContextManager()).toBe(false);
    expect(runInContext(withValue('other'), () => [valueNow(), other.active().getValue(KEY)], undefined)).toEqual(['other', 'other']);
  });
});
