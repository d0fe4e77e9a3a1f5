/** Freezes a plain data value and everything it holds, so that a value shared by many readers cannot be changed by one. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
