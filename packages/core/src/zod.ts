import type { z } from 'zod';
import { describeValue, RemaxError, type RemaxErrorCode } from './errors.js';

export interface ParseOptions {
  /** File the data came from, named in the error. */
  file?: string;
  /** What the data is ("config", "prompt row 12"), named in the error. */
  what?: string;
  code?: RemaxErrorCode;
}

/** Formats zod issues as one readable line per problem: `key.path: message (got value)`. */
export function formatZodIssues(issues: readonly z.core.$ZodIssue[], data: unknown): string {
  return issues
    .map((issue) => {
      const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
      const got = valueAt(data, issue.path);
      const gotText = got.found ? ` (got ${describeValue(got.value)})` : '';
      return `  - ${path}: ${issue.message}${gotText}`;
    })
    .join('\n');
}

/**
 * Validates `data` against `schema` and returns the parsed value, or throws one
 * RemaxError that lists every problem with its key path, value and expectation.
 */
export function parseWith<S extends z.ZodType>(
  schema: S,
  data: unknown,
  options: ParseOptions = {},
): z.output<S> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const where = [options.file, options.what].filter(Boolean).join(': ');
  const head = where ? `invalid ${where}` : 'invalid input';
  throw new RemaxError(
    options.code ?? 'E_CONFIG',
    `${head}:\n${formatZodIssues(result.error.issues, data)}`,
    {},
  );
}

function valueAt(data: unknown, path: readonly PropertyKey[]): { found: boolean; value?: unknown } {
  let cur: unknown = data;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object' || !(key in (cur as object))) {
      return { found: false };
    }
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return { found: true, value: cur };
}
