import type { AsyncLocalStorage } from 'node:async_hooks';
// Node's own timers, not the globals, which a test's fake timers may have replaced.
import { clearTimeout, setTimeout } from 'node:timers';

/** Takes a Node `Timeout` out of one storage's context, so that its callback runs, and it retains, none. */
export type TimerContextRelease = (timer: unknown) => void;

type Carrier = Record<symbol, unknown>;
type ContextFrame = Pick<Map<unknown, unknown>, 'get' | 'has'>;

/**
 * Where a Node timer keeps the context it was armed in, found once by arming a probe timer inside `storage`:
 * on Node 24 (AsyncContextFrame) it is a frame, a Map keyed by storage, under a symbol of the timer; on Node 20,
 * or with `--no-async-context-frame`, it is the store itself, under the storage's `kResourceStore` symbol.
 * Undefined when neither is found (another runtime, or a Node that moved it): the timers are then left alone.
 */
export function timerContextRelease(storage: AsyncLocalStorage<unknown>): TimerContextRelease | undefined {
  const marker = {};
  const probe = storage.run(marker, () => setTimeout(ignore, 0x7fffffff)) as unknown as Carrier;
  const timerClass = probe.constructor;
  const resourceStore = (storage as unknown as { kResourceStore?: unknown }).kResourceStore;
  // Not `instanceof Map`: the frame's Map may come from another realm than this module's (a `vm` context, Jest).
  const frameKey = Object.getOwnPropertySymbols(probe).find((key) => (probe[key] as ContextFrame | undefined)?.get?.(storage) === marker);
  const storedOnTimer = typeof resourceStore === 'symbol' && probe[resourceStore] === marker;
  // Read before clearing: clearing a timer lets go of its context.
  clearTimeout(probe as unknown as NodeJS.Timeout);
  if (storedOnTimer) {
    return (timer) => {
      if (isTimer(timer, timerClass) && timer[resourceStore] !== undefined) timer[resourceStore] = undefined;
    };
  }
  if (frameKey === undefined) return undefined;
  // A frame is shared by everything armed in the same context, so it cannot lose one entry; the timer is given
  // the empty frame, the one a server's connection callbacks run in.
  return (timer) => {
    if (isTimer(timer, timerClass) && (timer[frameKey] as ContextFrame | undefined)?.has(storage)) timer[frameKey] = undefined;
  };
}

function isTimer(value: unknown, timerClass: unknown): value is Carrier {
  return typeof value === 'object' && value !== null && value.constructor === timerClass;
}

function ignore(): void {}
