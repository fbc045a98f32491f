// Naive, quadratic reference encoders written straight from the C++ / Rust sources'
// semantics, with strings and linear scans instead of keys, tables and a heap. The
// fast encoders must agree with them on every input.
import { utf8Of } from '../src/utf8.js';

const byteHex = (b: number): string => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;

/** Repeatedly merges the adjacent pair with the lowest priority (leftmost on ties). */
function mergeAll(
  symbols: string[],
  priorityOf: (left: string, right: string) => number | undefined,
  onMerge: (left: string, right: string) => void = () => {},
): string[] {
  const s = [...symbols];
  for (;;) {
    let best = -1;
    let bestPriority = Number.POSITIVE_INFINITY;
    for (let i = 0; i + 1 < s.length; i++) {
      const p = priorityOf(s[i]!, s[i + 1]!);
      if (p !== undefined && p < bestPriority) {
        best = i;
        bestPriority = p;
      }
    }
    if (best < 0) return s;
    onMerge(s[best]!, s[best + 1]!);
    s.splice(best, 2, s[best]! + s[best + 1]!);
  }
}

export interface NaiveSentencePieceModel {
  pieces: readonly string[];
  types: Uint8Array;
  scores: Float32Array;
}

/** SentencePiece BPE on an already normalized string (identity, no user-defined symbols). */
export function naiveSentencePiece(m: NaiveSentencePieceModel): (normalized: string) => number[] {
  const normal = new Map<string, number>();
  const reserved = new Map<string, number>();
  m.pieces.forEach((p, id) => {
    const t = m.types[id]!;
    const map = t === 1 || t === 4 || t === 5 ? normal : reserved;
    if (!map.has(p)) map.set(p, id);
  });
  const unk = m.types.indexOf(2);
  return (normalized) => {
    // UNUSED pieces are split back into the pair that formed them (recorded at
    // merge time: the same as SentencePiece's when a piece has one way to form).
    const formedBy = new Map<string, [string, string]>();
    const merged = mergeAll(
      [...normalized],
      (l, r) => {
        const id = normal.get(l + r);
        return id === undefined ? undefined : -m.scores[id]!;
      },
      (l, r) => {
        if (m.types[normal.get(l + r)!] === 5) formedBy.set(l + r, [l, r]);
      },
    );
    const resegment = (piece: string): string[] => {
      const pair = formedBy.get(piece);
      return pair ? [...resegment(pair[0]), ...resegment(pair[1])] : [piece];
    };
    const out: number[] = [];
    const byteFallback = reserved.has('<0x00>');
    for (const piece of merged.flatMap(resegment)) {
      const id = reserved.get(piece) ?? normal.get(piece) ?? unk;
      if (id === unk && byteFallback)
        for (const b of utf8Of(piece)) out.push(reserved.get(byteHex(b))!);
      else if (id === unk && out.at(-1) === unk)
        continue; // a run of unknowns is one <unk>
      else out.push(id);
    }
    return out;
  };
}

/** Hugging Face BPE (byte_fallback, no pre-tokenizer) on an already normalized string. */
export function naiveHuggingFace(
  vocab: Map<string, number>,
  merges: [string, string][],
): (normalized: string) => number[] {
  const rank = new Map<string, number>();
  merges.forEach(([a, b], i) => {
    rank.set(`${a} ${b}`, i);
  });
  return (normalized) => {
    const symbols: string[] = [];
    for (const ch of normalized) {
      if (vocab.has(ch)) symbols.push(ch);
      else for (const b of utf8Of(ch)) symbols.push(byteHex(b));
    }
    return mergeAll(symbols, (l, r) => rank.get(`${l} ${r}`)).map((p) => vocab.get(p)!);
  };
}
