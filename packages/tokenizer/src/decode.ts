import { SPACE_SYMBOL } from './normalize.js';
import { PieceType } from './sentencepieceProto.js';
import { decodeByteRun } from './utf8.js';

/** What decoding needs to know about a vocabulary. */
export interface DecodeVocab {
  pieces: readonly string[];
  types: Uint8Array;
  /** Byte value of a BYTE piece, -1 otherwise. */
  byteValue: Int16Array;
  unkId: number;
  unkSurface: string;
  /** add_dummy_prefix || remove_extra_whitespaces: the first "▁" is the dummy prefix. */
  stripsBosSpace: boolean;
  removeExtraWhitespaces: boolean;
}

export interface DecodeOptions {
  /** Drop control tokens such as `<s>` and `</s>` (default true, like SentencePiece). */
  skipSpecialTokens?: boolean;
}

/**
 * Incremental SentencePieceProcessor::Decode: control pieces are invisible (or
 * rendered as their text when skipSpecialTokens is false), the unknown piece is
 * unk_surface, runs of byte pieces are assembled into UTF-8 (a structurally invalid
 * byte becomes U+FFFD), and the leading "▁" of the first text piece is dropped when
 * it is the dummy prefix.
 */
export class DecodeState {
  private bosSpacePending = true;
  private bosSpaceSeen = false;
  private emittedAny = false;
  readonly bytes: number[] = [];

  constructor(
    private readonly vocab: DecodeVocab,
    private readonly skipSpecialTokens: boolean,
  ) {}

  /** Resolves `count` pending bytes (from the start) into text. */
  takeBytes(count: number): string {
    if (count === 0) return '';
    const s = decodeByteRun(this.bytes, 0, count);
    this.bytes.splice(0, count);
    if (s.length > 0) this.emittedAny = true;
    return s;
  }

  /** Text for one id; byte ids are queued in `bytes` and return ''. */
  push(id: number): string {
    const v = this.vocab;
    const type = v.types[id]!;
    if (type === PieceType.BYTE) {
      this.bytes.push(v.byteValue[id]!);
      return '';
    }
    let out = this.takeBytes(this.bytes.length);
    if (this.bosSpaceSeen || this.emittedAny) this.bosSpacePending = false;
    let piece = v.pieces[id]!;
    let text: string;
    let seen = false;
    if (type === PieceType.CONTROL) {
      text = this.skipSpecialTokens ? '' : piece;
    } else if (type === PieceType.UNKNOWN) {
      text = v.unkSurface;
    } else {
      if (this.bosSpacePending && v.stripsBosSpace && piece.startsWith(SPACE_SYMBOL)) {
        piece = piece.slice(SPACE_SYMBOL.length);
        seen = !v.removeExtraWhitespaces;
      }
      text = piece.replaceAll(SPACE_SYMBOL, ' ');
    }
    this.bosSpaceSeen = seen;
    // Rendered control text does not end the dummy-prefix position: decoding with
    // specials shown equals decoding without them, plus their text.
    if (text.length > 0 && type !== PieceType.CONTROL) this.emittedAny = true;
    out += text;
    return out;
  }
}
