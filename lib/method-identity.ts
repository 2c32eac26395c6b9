type AnyMethod = (...args: never[]) => unknown;

/**
 * Gives a wrapper the name, arity and reflect-metadata of the method it wraps, and a marker. Nest reads routes,
 * patterns and schedules from metadata on the method itself, so a wrapper without it would unregister them.
 */
export function copyMethodIdentity(original: AnyMethod, wrapper: AnyMethod, marker: symbol): void {
  Object.defineProperty(wrapper, 'name', { value: original.name, configurable: true });
  Object.defineProperty(wrapper, 'length', { value: original.length, configurable: true });
  Object.defineProperty(wrapper, marker, { value: true });
  const reflect = Reflect as unknown as {
    getOwnMetadataKeys?: (target: object) => unknown[];
    getOwnMetadata: (key: unknown, target: object) => unknown;
    defineMetadata: (key: unknown, value: unknown, target: object) => void;
  };
  for (const key of reflect.getOwnMetadataKeys?.(original) ?? []) {
    reflect.defineMetadata(key, reflect.getOwnMetadata(key, original), wrapper);
  }
}

/** Whether `method` is a wrapper marked with `marker`. */
export function hasMarker(method: unknown, marker: symbol): boolean {
  return typeof method === 'function' && (method as unknown as Record<symbol, unknown>)[marker] === true;
}
