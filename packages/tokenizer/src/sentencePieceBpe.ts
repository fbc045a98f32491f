import { MergeQueue } from './mergeQueue.js';
import { PairTable } from './pairTable.js';
import { PieceType } from './sentencepieceProto.js';
import { SymbolBuffer } from './symbols.js';
import { pushUtf8, utf8Of } from './utf8.js';
import type { WordEncoder } from './wordEncoder.js';

export interface SentencePieceBpeVocab {
  pieces: readonly string[];
  types: Uint8Array;
  scores: Float32Array;
  unkId: number;
  byteFallback: boolean;
}

/**
 * SentencePiece's BPE `Model::Encode` (bpe_model.cc), exactly:
 * - the normalized text is split into characters, user-defined symbols matched
 *   greedily first (longest match) and frozen;
 * - a pair of adjacent symbols may merge when their concatenation is a piece of type
 *   NORMAL, USER_DEFINED or UNUSED; the agenda takes the highest score first and the
 *   leftmost pair on ties;
 * - UNUSED pieces are split back into the pair that formed them;
 * - a remaining symbol that is no piece becomes the unknown id, or with
 *   byte_fallback its UTF-8 bytes as `<0xNN>` pieces.
 *
 * A symbol is identified by a key: the piece id when its text is a piece, else
 * `vocabSize + codePoint` (only single characters can be non-pieces). Merges are
 * looked up by the packed (left key, right key) pair, never by building strings.
 */
export class SentencePieceBpe implements WordEncoder {
  private readonly vocabSize: number;
  private readonly pieces: readonly string[];
  private readonly types: Uint8Array;
  private readonly negScores: Float64Array;
  private readonly unkId: number;
  private readonly byteFallback: boolean;
  /** key of a BMP character (piece id or -1 when it is no piece). */
  private readonly bmpKey = new Int32Array(0x10000).fill(-1);
  private readonly astralKey = new Map<number, number>();
  private readonly merges: PairTable;
  /** What PieceToId returns for a piece's text (reserved pieces shadow normal ones). */
  private readonly outputId: Int32Array;
  /** Reserved pieces (control / unknown / byte) that are one character, by code point. */
  private readonly reservedChar = new Map<number, number>();
  private readonly byteIds = new Int32Array(256);
  private readonly userDefined: Map<number, string[]>;
  private readonly pieceIdOf: Map<string, number>;
  private readonly symbols = new SymbolBuffer();
  private readonly queue = new MergeQueue();

  constructor(vocab: SentencePieceBpeVocab) {
    const { pieces, types, scores } = vocab;
    const n = pieces.length;
    this.vocabSize = n;
    this.pieces = pieces;
    this.types = types;
    this.unkId = vocab.unkId;
    this.byteFallback = vocab.byteFallback;
    this.negScores = new Float64Array(n);
    for (let i = 0; i < n; i++) this.negScores[i] = -scores[i]!;

    // ModelInterface::InitializePieces: pieces_ (normal, user-defined, unused) and
    // reserved_id_map_ (everything else); the first id of a text wins in each.
    const normal = new Map<string, number>();
    const reserved = new Map<string, number>();
    for (let id = 0; id < n; id++) {
      const t = types[id]!;
      const isNormal =
        t === PieceType.NORMAL || t === PieceType.USER_DEFINED || t === PieceType.UNUSED;
      const map = isNormal ? normal : reserved;
      if (!map.has(pieces[id]!)) map.set(pieces[id]!, id);
    }
    this.pieceIdOf = normal;
    this.outputId = new Int32Array(n);
    for (let id = 0; id < n; id++) this.outputId[id] = reserved.get(pieces[id]!) ?? id;
    for (const [text, id] of reserved) {
      const cps = [...text];
      if (cps.length === 1) this.reservedChar.set(cps[0]!.codePointAt(0)!, id);
    }
    for (let b = 0; b < 256; b++) {
      const piece = `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
      this.byteIds[b] = reserved.get(piece) ?? normal.get(piece) ?? this.unkId;
    }

    const userDefined = new Map<number, string[]>();
    for (const [text, id] of normal) {
      if (types[id] === PieceType.USER_DEFINED) {
        const first = text.codePointAt(0)!;
        const list = userDefined.get(first) ?? [];
        list.push(text);
        userDefined.set(first, list);
      }
    }
    for (const list of userDefined.values()) list.sort((a, b) => b.length - a.length);
    this.userDefined = userDefined;

    let pairCount = 0;
    for (const [text, id] of normal) {
      const cp = text.codePointAt(0)!;
      const units = cp > 0xffff ? 2 : 1;
      if (text.length === units) {
        if (cp < 0x10000) this.bmpKey[cp] = id;
        else this.astralKey.set(cp, id);
      }
      pairCount += text.length - 1;
    }
    this.merges = new PairTable(pairCount);
    // Every split of a piece at a character boundary into two symbols that can
    // exist (a piece, or a single character) is a merge producing that piece.
    for (const [text, id] of normal) {
      for (let offset = 1; offset < text.length; offset++) {
        const unit = text.charCodeAt(offset);
        if (unit >= 0xdc00 && unit <= 0xdfff) continue; // inside a surrogate pair
        const left = this.keyOfText(text.slice(0, offset), normal);
        if (left < 0) continue;
        const right = this.keyOfText(text.slice(offset), normal);
        if (right >= 0) this.merges.setIfAbsent(left, right, id);
      }
    }
  }

  /** The symbol key of a text: its piece id, or `vocabSize + cp` for a single character. */
  private keyOfText(s: string, normal: Map<string, number>): number {
    const id = normal.get(s);
    if (id !== undefined) return id;
    const cp = s.codePointAt(0)!;
    // Only a single character can be a symbol without being a piece.
    return s.length === (cp > 0xffff ? 2 : 1) ? this.vocabSize + cp : -1;
  }

  private keyOfCodePoint(cp: number): number {
    const k = cp < 0x10000 ? this.bmpKey[cp]! : (this.astralKey.get(cp) ?? -1);
    return k >= 0 ? k : this.vocabSize + cp;
  }

  /** Longest user-defined symbol starting at `word[i]`, or undefined. */
  private matchUserDefined(word: string, i: number, cp: number): string | undefined {
    const list = this.userDefined.get(cp);
    if (list === undefined) return undefined;
    for (const s of list) if (word.startsWith(s, i)) return s;
    return undefined;
  }

  encodeWord(word: string, out: number[]): void {
    const sym = this.symbols;
    sym.ensure(word.length);
    const key = sym.key;
    const size = sym.size;
    const frozen = sym.frozen;
    const hasUserDefined = this.userDefined.size > 0;
    let n = 0;
    for (let i = 0; i < word.length; ) {
      const cp = word.codePointAt(i)!;
      if (hasUserDefined) {
        const ud = this.matchUserDefined(word, i, cp);
        if (ud !== undefined) {
          key[n] = this.pieceIdOf.get(ud)!;
          size[n] = ud.length;
          frozen[n++] = 1;
          i += ud.length;
          continue;
        }
      }
      key[n] = this.keyOfCodePoint(cp);
      const units = cp > 0xffff ? 2 : 1;
      size[n] = units;
      frozen[n++] = 0;
      i += units;
    }
    if (n === 0) return;
    sym.link(n);
    const prev = sym.prev;
    const next = sym.next;
    const queue = this.queue;
    queue.reset(3 * n);
    let revMerge: Map<number, [number, number]> | undefined;

    // MaybeAddNewSymbolPair: queue the pair if its concatenation is a piece.
    const maybeAdd = (left: number, right: number): void => {
      if (left < 0 || right < 0 || frozen[left] === 1 || frozen[right] === 1) return;
      const merged = this.merges.get(key[left]!, key[right]!);
      if (merged < 0) return;
      queue.push(this.negScores[merged]!, left, right, size[left]! + size[right]!, merged);
      if (this.types[merged] === PieceType.UNUSED) {
        revMerge ??= new Map();
        revMerge.set(merged, [key[left]!, key[right]!]);
      }
    };

    for (let i = 1; i < n; i++) maybeAdd(i - 1, i);

    const right = queue.payloadA;
    const total = queue.payloadB;
    const mergedId = queue.payloadC;
    while (!queue.isEmpty) {
      const e = queue.pop();
      const l = queue.position[e]!;
      const r = right[e]!;
      // Stale entry: one side was merged away or grew since it was queued.
      if (size[l] === 0 || size[r] === 0 || size[l]! + size[r]! !== total[e]) continue;
      key[l] = mergedId[e]!;
      size[l] = total[e]!;
      const rn = next[r]!;
      next[l] = rn;
      if (rn >= 0) prev[rn] = l;
      size[r] = 0;
      maybeAdd(prev[l]!, l);
      maybeAdd(l, rn);
    }

    for (let i = 0; i !== -1; i = next[i]!) this.emit(key[i]!, out, revMerge);
  }

  /** resegment + PieceToId + byte fallback for one final symbol. */
  private emit(
    k: number,
    out: number[],
    revMerge: Map<number, [number, number]> | undefined,
  ): void {
    if (k >= this.vocabSize) {
      const cp = k - this.vocabSize;
      const id =
        this.reservedChar.size > 0 ? (this.reservedChar.get(cp) ?? this.unkId) : this.unkId;
      if (id === this.unkId && this.byteFallback) {
        const bytes: number[] = [];
        pushUtf8(cp, bytes);
        for (const b of bytes) out.push(this.byteIds[b]!);
      } else out.push(id);
      return;
    }
    if (this.types[k] === PieceType.UNUSED && this.outputId[k] === k && revMerge !== undefined) {
      const pair = revMerge.get(k);
      if (pair !== undefined) {
        this.emit(pair[0], out, revMerge);
        this.emit(pair[1], out, revMerge);
        return;
      }
    }
    const id = this.outputId[k]!;
    if (id === this.unkId && this.byteFallback) {
      for (const b of utf8Of(this.pieces[k]!)) out.push(this.byteIds[b]!);
    } else out.push(id);
  }
}
