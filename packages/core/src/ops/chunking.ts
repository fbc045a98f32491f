/**
 * Row ranges [start, end) that split `rows` rows of width `width` into chunks of
 * at most ~`maxElements` elements (at least one row per chunk), so that a
 * temporary [rows, width] tensor is never materialised in full.
 */
export function rowChunks(
  rows: number,
  width: number,
  maxElements = 1 << 22,
): Array<[number, number]> {
  const per = Math.max(1, Math.floor(maxElements / Math.max(1, width)));
  const out: Array<[number, number]> = [];
  for (let s = 0; s < rows; s += per) out.push([s, Math.min(rows, s + per)]);
  return out;
}

export interface ChunkOptions {
  /** Largest temporary [rows, V] chunk, in elements (default 4M = 16 MB of float32). */
  maxChunkElements?: number;
}
