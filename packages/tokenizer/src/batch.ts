import { RemaxError } from '@remax/core';

export type Side = 'left' | 'right';

export interface TokenIdBatch {
  /** [B][T] ids, padded to the longest row. */
  inputIds: number[][];
  /** [B][T] 1 for real tokens, 0 for padding. */
  attentionMask: number[][];
}

export interface PadOptions {
  padId: number;
  /** Where pads go (default 'left': what generation needs). */
  padding?: Side;
}

/** Pads rows to the longest one with `padId` and builds the attention mask. */
export function padBatch(rows: readonly (readonly number[])[], options: PadOptions): TokenIdBatch {
  const side = options.padding ?? 'left';
  checkSide(side, 'padding');
  let width = 0;
  for (const r of rows) width = Math.max(width, r.length);
  const inputIds: number[][] = [];
  const attentionMask: number[][] = [];
  for (const r of rows) {
    const pad = width - r.length;
    const ids = new Array<number>(width);
    const mask = new Array<number>(width);
    const offset = side === 'left' ? pad : 0;
    for (let i = 0; i < width; i++) {
      const j = i - offset;
      const real = j >= 0 && j < r.length;
      ids[i] = real ? r[j]! : options.padId;
      mask[i] = real ? 1 : 0;
    }
    inputIds.push(ids);
    attentionMask.push(mask);
  }
  return { inputIds, attentionMask };
}

/**
 * Cuts `content` so that `content.length + reserved <= maxLength`, dropping tokens
 * from the given side. Special tokens (`reserved`) are never cut.
 */
export function truncateIds(
  content: number[],
  maxLength: number,
  reserved: number,
  side: Side,
): number[] {
  const budget = maxLength - reserved;
  if (budget < 0) {
    throw new RemaxError('E_INPUT', 'maxLength leaves no room for the special tokens', {
      field: 'maxLength',
      value: maxLength,
      expected: `at least ${reserved}`,
    });
  }
  if (content.length <= budget) return content;
  return side === 'left' ? content.slice(content.length - budget) : content.slice(0, budget);
}

export function checkSide(side: unknown, field: string): void {
  if (side !== 'left' && side !== 'right') {
    throw new RemaxError('E_INPUT', `invalid ${field} side`, {
      field,
      value: side,
      expected: "'left' or 'right'",
    });
  }
}
