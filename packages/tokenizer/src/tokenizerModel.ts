import type { WordEncoder } from './wordEncoder.js';

/** How text becomes the normalized string the BPE core sees (identity normalization). */
export interface NormalizerSettings {
  /** Prepend U+2581 to non-empty text (`add_dummy_prefix` / HF `Prepend`). */
  addDummyPrefix: boolean;
  /** Drop leading/trailing spaces and collapse runs (`remove_extra_whitespaces`). */
  removeExtraWhitespaces: boolean;
  /** Replace ' ' with U+2581 (`escape_whitespaces` / HF `Replace`). */
  escapeWhitespaces: boolean;
}

/** Everything a Tokenizer needs, whichever file it came from. */
export interface TokenizerModel {
  file: string;
  format: 'sentencepiece' | 'tokenizer.json';
  pieces: readonly string[];
  /** PieceType per id (NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE). */
  types: Uint8Array;
  unkId: number;
  /** -1 when the model has none. */
  bosId: number;
  eosId: number;
  /** The pad id the file declares, or -1. */
  declaredPadId: number;
  byteFallback: boolean;
  normalizer: NormalizerSettings;
  /** Decoded text of the unknown piece (SentencePiece's unk_surface, " \u2047 "). */
  unkSurface: string;
  encoder: WordEncoder;
  /** The encoder needs no user-defined symbol matching across word boundaries. */
  hasUserDefined: boolean;
}
