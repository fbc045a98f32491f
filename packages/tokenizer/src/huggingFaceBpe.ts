import { RemaxError } from '@remax/core';
import { MergeQueue } from './mergeQueue.js';
import { PairTable } from './pairTable.js';
import { SymbolBuffer } from './symbols.js';
import { pushUtf8 } from './utf8.js';
import type { WordEncoder } from './wordEncoder.js';

export interface HuggingFaceBpeSpec {
  file: string;
  /** piece -> id of `model.vocab`. */
  vocab: ReadonlyMap<string, number>;
  /** `model.merges` as [left, right] pairs, in rank order. */
  merges: readonly (readonly [string, string])[];
  unkId: number;
  byteFallback: boolean;
  fuseUnk: boolean;
}

/**
 * Hugging Face tokenizers' `BPE::merge_word` + `Word::merge_all`, exactly:
 * characters are looked up in the vocabulary; one that is missing becomes its
 * `<0xNN>` byte tokens (byte_fallback) or the unknown token (consecutive unknowns
 * fused when fuse_unk); then the pair with the lowest merge rank is applied first,
 * the leftmost on ties, until no ranked pair remains.
 */
export class HuggingFaceBpe implements WordEncoder {
  private readonly bmpId = new Int32Array(0x10000).fill(-1);
  private readonly astralId = new Map<number, number>();
  private readonly byteIds = new Int32Array(256).fill(-1);
  /** (left id, right id) -> merge index; rank = index, result in mergeResult. */
  private readonly merges: PairTable;
  private readonly mergeResult: Int32Array;
  private readonly unkId: number;
  private readonly byteFallback: boolean;
  private readonly fuseUnk: boolean;
  private readonly file: string;
  private readonly symbols = new SymbolBuffer();
  private readonly queue = new MergeQueue();
  private readonly bytes: number[] = [];

  constructor(spec: HuggingFaceBpeSpec) {
    this.file = spec.file;
    this.unkId = spec.unkId;
    this.byteFallback = spec.byteFallback;
    this.fuseUnk = spec.fuseUnk;
    for (const [piece, id] of spec.vocab) {
      const cp = piece.codePointAt(0)!;
      if (piece.length === (cp > 0xffff ? 2 : 1)) {
        if (cp < 0x10000) this.bmpId[cp] = id;
        else this.astralId.set(cp, id);
      }
    }
    for (let b = 0; b < 256; b++) {
      const piece = `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
      this.byteIds[b] = spec.vocab.get(piece) ?? -1;
    }
    this.merges = new PairTable(spec.merges.length);
    this.mergeResult = new Int32Array(spec.merges.length);
    spec.merges.forEach(([a, b], rank) => {
      const left = spec.vocab.get(a);
      const right = spec.vocab.get(b);
      const result = spec.vocab.get(a + b);
      if (left === undefined || right === undefined || result === undefined) {
        const missing = left === undefined ? a : right === undefined ? b : a + b;
        throw new RemaxError('E_FORMAT', 'a merge refers to a token missing from the vocab', {
          file: spec.file,
          field: `model.merges[${rank}]`,
          value: missing,
          expected: 'both merge parts and their concatenation in model.vocab',
        });
      }
      // As in HF (a HashMap collected from the list), a repeated pair keeps its last rank.
      this.merges.set(left, right, rank);
      this.mergeResult[rank] = result;
    });
  }

  encodeWord(word: string, out: number[]): void {
    const sym = this.symbols;
    sym.ensure(word.length * 4);
    const key = sym.key;
    const size = sym.size;
    let n = 0;
    let prevUnk = false;
    for (let i = 0; i < word.length; ) {
      const cp = word.codePointAt(i)!;
      const units = cp > 0xffff ? 2 : 1;
      i += units;
      const id = cp < 0x10000 ? this.bmpId[cp]! : (this.astralId.get(cp) ?? -1);
      if (id >= 0) {
        key[n] = id;
        size[n++] = units;
        prevUnk = false;
        continue;
      }
      if (this.byteFallback) {
        const bytes = this.bytes;
        bytes.length = 0;
        pushUtf8(cp, bytes);
        if (bytes.every((b) => this.byteIds[b]! >= 0)) {
          for (const b of bytes) {
            key[n] = this.byteIds[b]!;
            size[n++] = 1;
          }
          prevUnk = false;
          continue;
        }
      }
      if (this.unkId < 0) {
        throw new RemaxError('E_TOKENIZER', 'a character is not in the vocabulary', {
          file: this.file,
          value: String.fromCodePoint(cp),
          expected: 'a tokenizer.json with model.unk_token or byte_fallback',
        });
      }
      if (this.fuseUnk && prevUnk) {
        size[n - 1]! += units;
      } else {
        key[n] = this.unkId;
        size[n++] = units;
      }
      prevUnk = true;
    }
    if (n === 0) return;
    sym.link(n);
    const prev = sym.prev;
    const next = sym.next;
    const queue = this.queue;
    const merges = this.merges;
    const result = this.mergeResult;
    queue.reset(3 * n);
    for (let i = 0; i + 1 < n; i++) {
      const m = merges.get(key[i]!, key[i + 1]!);
      if (m >= 0) queue.push(m, i, result[m]!, 0, 0);
    }
    const newIdOf = queue.payloadA;
    while (!queue.isEmpty) {
      const e = queue.pop();
      const pos = queue.position[e]!;
      const newId = newIdOf[e]!;
      if (size[pos] === 0) continue;
      const r = next[pos]!;
      if (r < 0) continue;
      // Expired entry: the pair at `pos` no longer produces this token.
      const m = merges.get(key[pos]!, key[r]!);
      if (m < 0 || result[m] !== newId) continue;
      key[pos] = newId;
      size[pos]! += size[r]!;
      size[r] = 0;
      const rn = next[r]!;
      next[pos] = rn;
      if (rn >= 0) prev[rn] = pos;
      const p = prev[pos]!;
      if (p >= 0) {
        const mp = merges.get(key[p]!, newId);
        if (mp >= 0) queue.push(mp, p, result[mp]!, 0, 0);
      }
      if (rn >= 0) {
        const mn = merges.get(newId, key[rn]!);
        if (mn >= 0) queue.push(mn, pos, result[mn]!, 0, 0);
      }
    }
    for (let i = 0; i !== -1; i = next[i]!) out.push(key[i]!);
  }
}
