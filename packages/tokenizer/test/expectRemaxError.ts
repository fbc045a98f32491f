import { isRemaxError } from '@remax/core';
import { expect } from 'vitest';

/** Runs `fn` and checks it throws a RemaxError with `code` (and a message matching `text`). */
export function expectRemaxError(fn: () => unknown, code: string, text?: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(isRemaxError(e), String(e)).toBe(true);
    if (isRemaxError(e)) {
      expect(e.code).toBe(code);
      if (text) expect(e.message).toMatch(text);
    }
    return;
  }
  throw new Error('expected a RemaxError');
}
