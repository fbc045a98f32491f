import { RemaxError } from '@remax/core';
import YAML from 'yaml';
import type { z } from 'zod';
import { algoNames } from '../registry/lookup.js';
import { runConfigSchema } from './schema.js';

/** Every settable key path of the run config (`optim.lr`, `remax.kl_ctl`, ...). */
export function configKeyPaths(): string[] {
  const out: string[] = [];
  walk(runConfigSchema, [], out);
  return out;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let cur = schema as z.ZodType & { _zod: { def: { type: string; innerType?: z.ZodType } } };
  while (
    ['default', 'prefault', 'optional', 'nullable'].includes(cur._zod.def.type) &&
    cur._zod.def.innerType
  ) {
    cur = cur._zod.def.innerType as typeof cur;
  }
  return cur;
}

function walk(schema: z.ZodType, prefix: string[], out: string[]): void {
  const inner = unwrap(schema) as z.ZodType & { _zod: { def: { type: string; shape?: unknown } } };
  if (inner._zod.def.type === 'object') {
    const shape = inner._zod.def.shape as Record<string, z.ZodType>;
    for (const [key, child] of Object.entries(shape)) walk(child, [...prefix, key], out);
    return;
  }
  out.push(prefix.join('.'));
}

/**
 * Resolves a `--set` key to its full path. A dotted key must be a path of the
 * config; a bare key (`kl_ctl`) must name one leaf, or one leaf outside the
 * sections of the algorithms not running (`lr` is `optim.lr` for ReMax, and
 * ambiguous for PPO, whose section has `critic.lr`).
 */
export function resolveKey(key: string, algo: string | undefined): string {
  const paths = configKeyPaths();
  if (paths.includes(key)) return key;
  const matches = paths.filter((p) => p.endsWith(`.${key}`));
  if (matches.length === 1) return matches[0] as string;
  const inactive = algoNames.filter((n) => n !== algo);
  const live = matches.filter((p) => !inactive.some((n) => p.startsWith(`${n}.`)));
  if (live.length === 1) return live[0] as string;
  throw new RemaxError(
    'E_CONFIG',
    matches.length === 0 ? 'unknown config key in --set' : 'ambiguous config key in --set',
    {
      field: key,
      expected:
        matches.length === 0
          ? `a config key such as ${nearest(key, paths).join(', ')}`
          : matches.join(' or '),
    },
  );
}

/** Parses `key=value` (value as YAML: `0.05` is a number, `null`, `[a, b]`). */
export function parseSetFlag(flag: string): { key: string; value: unknown } {
  const eq = flag.indexOf('=');
  if (eq <= 0) {
    throw new RemaxError('E_CONFIG', 'bad --set flag', { value: flag, expected: 'key=value' });
  }
  return { key: flag.slice(0, eq).trim(), value: YAML.parse(flag.slice(eq + 1)) };
}

/** Sets `value` at a dotted path of a plain object, creating sections as needed. */
export function setAtPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let cur = target;
  for (const k of keys.slice(0, -1)) {
    const next = cur[k];
    if (next === undefined || next === null) cur[k] = {};
    else if (typeof next !== 'object' || Array.isArray(next)) {
      throw new RemaxError('E_CONFIG', 'cannot set a key inside a non-section value', {
        field: path,
        value: next,
      });
    }
    cur = cur[k] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1] as string] = value;
}

/** The three key paths closest to `key` by edit distance (for "did you mean"). */
function nearest(key: string, paths: readonly string[]): string[] {
  const score = (p: string) =>
    Math.min(editDistance(key, p), editDistance(key, p.split('.').at(-1) ?? p));
  return [...paths].sort((a, b) => score(a) - score(b)).slice(0, 3);
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min(sub, (prev[j] as number) + 1, (cur[j - 1] as number) + 1));
    }
    prev = cur;
  }
  return prev[b.length] as number;
}
