// YAML sections are snake_case, the packages' zod schemas camelCase. One
// generic mapping between the two, so no key is spelled twice.

/** `klCtl` -> `kl_ctl`, `cliprangeValue` -> `cliprange_value`. */
export function toSnake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** `kl_ctl` -> `klCtl`. */
export function toCamel(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Whether a package's camelCase key survives the round trip through its snake_case spelling. */
export function roundTrips(camelKey: string): boolean {
  return toCamel(toSnake(camelKey)) === camelKey;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Renames the keys of plain objects, recursively (arrays and other values are data, kept as they are). */
export function mapKeys(value: unknown, rename: (key: string) => string): unknown {
  if (!isPlainObject(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [rename(k), mapKeys(v, rename)]));
}
