import { AsyncLocalStorage } from 'node:async_hooks';
import { timerContextRelease } from './timer-context.js';

describe('releasing a timer from a storage context', () => {
  const storage = new AsyncLocalStorage<string>();
  const otherStorage = new AsyncLocalStorage<string>();
  const release = timerContextRelease(storage);

  /** Arms a 5 ms timer inside `store` of `where`; `fired` tells what both storages held when it ran. */
  const armIn = (where: AsyncLocalStorage<string>, store: string) => {
    let timer!: NodeJS.Timeout;
    const fired = new Promise<[string | undefined, string | undefined]>((resolve) =>
      where.run(store, () => (timer = setTimeout(() => resolve([storage.getStore(), otherStorage.getStore()]), 5))),
    );
    return { timer, fired };
  };

  it("finds where this Node keeps a timer's context", () => {
    expect(release).toBeInstanceOf(Function);
  });

  it("finds it when the global timers were replaced, as a test's fake timers replace them", () => {
    const { setTimeout: realSetTimeout, clearTimeout: realClearTimeout } = globalThis;
    globalThis.setTimeout = (() => ({ fake: true })) as unknown as typeof setTimeout;
    globalThis.clearTimeout = (() => undefined) as typeof clearTimeout;
    try {
      expect(timerContextRelease(new AsyncLocalStorage<string>())).toBeInstanceOf(Function);
    } finally {
      globalThis.setTimeout = realSetTimeout;
      globalThis.clearTimeout = realClearTimeout;
    }
  });

  it('runs a released timer, and lets it keep, no context of the storage; other timers keep theirs', async () => {
    const released = armIn(storage, 'request');
    const kept = armIn(storage, 'other request');
    release!(released.timer);
    await expect(released.fired).resolves.toEqual([undefined, undefined]);
    await expect(kept.fired).resolves.toEqual(['other request', undefined]);
  });

  it("leaves alone timers that hold only another storage's context, and values that are not timers", async () => {
    const foreign = armIn(otherStorage, 'foreign');
    release!(foreign.timer);
    const immediate = setImmediate(() => undefined);
    for (const value of [undefined, null, 42, {}, Object.create(null), immediate]) expect(() => release!(value)).not.toThrow();
    await expect(foreign.fired).resolves.toEqual([undefined, 'foreign']);
  });
});
