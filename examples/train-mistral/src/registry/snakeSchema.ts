import { z } from 'zod';
import { isPlainObject, mapKeys, roundTrips, toSnake } from './caseKeys.js';

/**
 * Keys supplied from elsewhere (the run's shared `optim:` and `train:`
 * settings): `true` for a leaf, a nested tree for a section of which only some
 * keys are supplied.
 */
export interface SuppliedKeys {
  [key: string]: true | SuppliedKeys;
}

/** The supplied-key tree of an object: plain objects recurse, anything else is a leaf. */
export function suppliedKeys(value: Record<string, unknown>): SuppliedKeys {
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, isPlainObject(v) ? suppliedKeys(v) : true]),
  );
}

/** The object schema under default/prefault/optional/nullable wrappers, if there is one. */
function objectInside(schema: z.ZodType): z.ZodObject | null {
  let cur: z.ZodType = schema;
  while (
    cur instanceof z.ZodDefault ||
    cur instanceof z.ZodPrefault ||
    cur instanceof z.ZodOptional ||
    cur instanceof z.ZodNullable
  ) {
    cur = cur.unwrap() as z.ZodType;
  }
  return cur instanceof z.ZodObject ? cur : null;
}

/**
 * The YAML face of a package's camelCase zod object: the same field schemas
 * (so the same defaults and bounds) under snake_case keys, strict, without the
 * keys in `omit`. Nested objects are rebuilt the same way; a nested object the
 * package defaults as a whole keeps that default (PPO's `critic` optimizer).
 * Refinements across fields are not copied: the caller validates the composed
 * camelCase config with the package's own schema afterwards.
 */
export function snakeCaseObject(
  schema: z.ZodObject,
  omit: SuppliedKeys = {},
  where = 'config',
): z.ZodObject {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, field] of Object.entries(schema.shape)) {
    if (!roundTrips(key)) {
      // a programming error of the package, not of a config file
      throw new Error(`${where}.${key}: key does not round-trip through snake_case`);
    }
    const supplied = omit[key];
    if (supplied === true) continue;
    const nested = objectInside(field);
    if (nested === null) {
      shape[toSnake(key)] = field;
      continue;
    }
    const rebuilt = snakeCaseObject(nested, supplied ?? {}, `${where}.${key}`);
    if (Object.keys(rebuilt.shape).length === 0) continue;
    shape[toSnake(key)] = withWholeDefault(rebuilt, field);
  }
  return z.strictObject(shape);
}

/**
 * Gives the rebuilt nested object the package's default for the object as a
 * whole (what `field` parses `undefined` to), restricted to the keys kept;
 * without one the object's own field defaults apply.
 */
function withWholeDefault(rebuilt: z.ZodObject, field: z.ZodType): z.ZodType {
  const parsed = field.safeParse(undefined);
  if (!parsed.success) return rebuilt;
  if (!isPlainObject(parsed.data)) return rebuilt.optional();
  const whole = mapKeys(parsed.data, toSnake);
  if (!isPlainObject(whole)) return rebuilt;
  const kept = Object.fromEntries(Object.entries(whole).filter(([k]) => k in rebuilt.shape));
  return rebuilt.prefault(kept);
}
