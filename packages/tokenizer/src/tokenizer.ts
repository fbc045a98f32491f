import { parseWith, RemaxError } from '@remax/core';
import { checkSide, padBatch, type Side, type TokenIdBatch, truncateIds } from './batch.js';
import { type ChatMessage, type ChatTemplate, encodeMistralV1, messagesSchema } from './chat.js';
import {
  type RenderChatOptions,
  type RenderedChat,
  renderChatTemplate,
  type TemplateVocab,
} from './chatTemplate.js';
import { type DecodeOptions, DecodeState, type DecodeVocab } from './decode.js';
import { readChatTemplate, readTokenizerDir, readTokenizerModel } from './loadFiles.js';
import { sentencePieceModelFrom } from './loadSentencePiece.js';
import { tokenizerJsonModelFrom } from './loadTokenizerJson.js';
import { normalizeText, SPACE_SYMBOL, SPACE_SYMBOL_CODE } from './normalize.js';
import { PieceType } from './sentencepieceProto.js';
import { StreamDecoder } from './streamDecoder.js';
import type { TokenizerModel } from './tokenizerModel.js';
import { toWellFormed } from './utf8.js';

export interface EncodeOptions {
  /** Prepend the BOS id (default false, like SentencePiece). */
  addBos?: boolean;
  /** Append the EOS id (default false). */
  addEos?: boolean;
}

export interface EncodeBatchOptions extends EncodeOptions {
  /** Longest row, special tokens included; longer texts are truncated. */
  maxLength?: number;
  /** Which end of the text truncation drops (default 'right'); specials are kept. */
  truncation?: Side;
  /** Where pads go (default 'left', what generation needs). */
  padding?: Side;
}

export interface TokenizerOptions {
  /**
   * Pad id used by encodeBatch. Default: the pad id the file declares, else the EOS
   * id (Mistral and Llama declare none). Padded positions always have mask 0.
   */
  padId?: number;
  /**
   * The Jinja chat template `encodeChat(messages, 'auto')` renders. fromDir and
   * fromFile take it from tokenizer_config.json (`chat_template`).
   */
  chatTemplate?: string | null;
}

/** Words longer than this (in UTF-16 units) are encoded without the cache. */
const MAX_CACHED_WORD = 48;
const MAX_CACHE_ENTRIES = 1 << 16;

/**
 * An exact SentencePiece-BPE tokenizer (Mistral, Llama) built from a `tokenizer.model`
 * or a Hugging Face `tokenizer.json`. Special-token text such as "<s>" in input is
 * always plain text; control ids only come from `addBos` / `addEos` / chat templates.
 */
export class Tokenizer {
  /** Where the model was read from. */
  readonly file: string;
  readonly format: 'sentencepiece' | 'tokenizer.json';
  readonly vocabSize: number;
  /** -1 when the model has no BOS / EOS piece. */
  readonly bosId: number;
  readonly eosId: number;
  readonly unkId: number;
  /**
   * The id encodeBatch pads with: the file's pad id if it declares one, else EOS
   * (Mistral / Llama have no pad token), else the unknown id. Pads are always masked (attention mask 0),
   * and decode skips them by default because EOS is a control token.
   */
  readonly padId: number;
  /** The Jinja chat template of tokenizer_config.json, or null when there is none. */
  readonly chatTemplate: string | null;
  private templateVocabCache: TemplateVocab | undefined;
  private readonly model: TokenizerModel;
  private readonly pieceIds: Map<string, number>;
  private readonly decodeVocab: DecodeVocab;
  /** Per-word encoding is exact only when no piece can span a word boundary. */
  private readonly splitWords: boolean;
  private readonly cache = new Map<string, number[]>();
  private readonly compressUnknown: boolean;
  /** encodeInto may cut words from the raw text (see encodeRawWords). */
  private readonly rawWordKeys: boolean;

  constructor(model: TokenizerModel, options: TokenizerOptions = {}) {
    this.model = model;
    this.file = model.file;
    this.format = model.format;
    this.vocabSize = model.pieces.length;
    this.bosId = model.bosId;
    this.eosId = model.eosId;
    this.unkId = model.unkId;
    const padId =
      options.padId ??
      (model.declaredPadId >= 0
        ? model.declaredPadId
        : model.eosId >= 0
          ? model.eosId
          : model.unkId);
    if (!Number.isInteger(padId) || padId < 0 || padId >= this.vocabSize) {
      throw new RemaxError('E_CONFIG', 'invalid pad id', {
        file: model.file,
        field: 'padId',
        value: padId,
        expected: `an integer id in [0, ${this.vocabSize})`,
      });
    }
    this.padId = padId;
    this.chatTemplate = options.chatTemplate ?? null;
    this.pieceIds = new Map();
    // Reserved (control / unknown / byte) pieces shadow normal ones, as PieceToId does.
    for (const reservedFirst of [true, false]) {
      model.pieces.forEach((p, id) => {
        const t = model.types[id]!;
        const reserved = t === PieceType.CONTROL || t === PieceType.UNKNOWN || t === PieceType.BYTE;
        if (reserved === reservedFirst && !this.pieceIds.has(p)) this.pieceIds.set(p, id);
      });
    }
    const byteValue = new Int16Array(this.vocabSize).fill(-1);
    model.pieces.forEach((p, id) => {
      if (model.types[id] === PieceType.BYTE) {
        const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(p);
        if (m === null) {
          throw new RemaxError('E_FORMAT', 'a byte piece is not of the form <0xNN>', {
            file: model.file,
            field: `piece ${id}`,
            value: p,
          });
        }
        byteValue[id] = Number.parseInt(m[1]!, 16);
      }
    });
    this.decodeVocab = {
      pieces: model.pieces,
      types: model.types,
      byteValue,
      unkId: model.unkId,
      unkSurface: model.unkSurface,
      stripsBosSpace: model.normalizer.addDummyPrefix || model.normalizer.removeExtraWhitespaces,
      removeExtraWhitespaces: model.normalizer.removeExtraWhitespaces,
    };
    const space = model.normalizer.escapeWhitespaces ? SPACE_SYMBOL : ' ';
    // A boundary before every space that follows a non-space is safe when no piece
    // contains a space after a non-space (SentencePiece's split_by_whitespace makes
    // it so) and the space itself is a piece (so no unknown run crosses it).
    this.splitWords =
      !model.hasUserDefined &&
      this.pieceIds.has(space) &&
      model.pieces.every((p) => !hasSpaceAfterNonSpace(p, space.charCodeAt(0)));
    this.compressUnknown = model.format === 'sentencepiece' && !model.byteFallback;
    this.rawWordKeys =
      this.splitWords &&
      !this.compressUnknown &&
      model.normalizer.escapeWhitespaces &&
      !model.normalizer.removeExtraWhitespaces;
  }

  private escapeSpaces(word: string): string {
    return this.rawWordKeys && word.includes(' ') ? word.replaceAll(' ', SPACE_SYMBOL) : word;
  }

  /** Reads a `tokenizer.model` or a `tokenizer.json` (+ `tokenizer_config.json` beside it). */
  static async fromFile(path: string, options?: TokenizerOptions): Promise<Tokenizer> {
    return new Tokenizer(await readTokenizerModel(path), {
      chatTemplate: await readChatTemplate(path),
      ...options,
    });
  }

  /** Reads a model directory's tokenizer: tokenizer.json if present, else tokenizer.model. */
  static async fromDir(dir: string, options?: TokenizerOptions): Promise<Tokenizer> {
    return new Tokenizer(await readTokenizerDir(dir), {
      chatTemplate: await readChatTemplate(dir),
      ...options,
    });
  }

  /** From the bytes of a SentencePiece `tokenizer.model`. */
  static fromSentencePiece(
    bytes: Uint8Array,
    options: TokenizerOptions & { file?: string } = {},
  ): Tokenizer {
    return new Tokenizer(sentencePieceModelFrom(bytes, options.file ?? 'tokenizer.model'), options);
  }

  /** From a parsed `tokenizer.json` and optional parsed `tokenizer_config.json`. */
  static fromTokenizerJson(
    json: unknown,
    config?: unknown,
    options: TokenizerOptions & { file?: string } = {},
  ): Tokenizer {
    return new Tokenizer(
      tokenizerJsonModelFrom(json, config, options.file ?? 'tokenizer.json'),
      options,
    );
  }

  /** Token ids of `text`. Control-token text in `text` is encoded as plain text. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') {
      throw new RemaxError('E_INPUT', 'encode expects a string', {
        value: text,
        expected: 'a string',
      });
    }
    const out: number[] = [];
    if (options.addBos) out.push(this.requireSpecial(this.bosId, 'bos'));
    this.encodeInto(text, out);
    if (options.addEos) out.push(this.requireSpecial(this.eosId, 'eos'));
    return out;
  }

  /**
   * Encodes several texts into a padded batch: each row is
   * `[BOS?] + ids (truncated to maxLength) + [EOS?]`, padded with `padId` to the
   * longest row (left by default) with attention mask 0 on pads.
   */
  encodeBatch(texts: readonly string[], options: EncodeBatchOptions = {}): TokenIdBatch {
    const truncation = options.truncation ?? 'right';
    checkSide(truncation, 'truncation');
    const { maxLength } = options;
    if (maxLength !== undefined && (!Number.isInteger(maxLength) || maxLength < 1)) {
      throw new RemaxError('E_INPUT', 'invalid maxLength', {
        field: 'maxLength',
        value: maxLength,
        expected: 'a positive integer',
      });
    }
    const reserved = (options.addBos ? 1 : 0) + (options.addEos ? 1 : 0);
    const rows = texts.map((text) => {
      let ids = this.encode(text);
      if (maxLength !== undefined) ids = truncateIds(ids, maxLength, reserved, truncation);
      if (options.addBos) ids.unshift(this.requireSpecial(this.bosId, 'bos'));
      if (options.addEos) ids.push(this.requireSpecial(this.eosId, 'eos'));
      return ids;
    });
    return padBatch(rows, { padId: this.padId, padding: options.padding ?? 'left' });
  }

  /**
   * Ids of a conversation in a model's chat format. `'mistral-v1'`: mistral-common's
   * v1 instruct encoding (Mistral-7B-Instruct v0.1 / v0.2); see encodeMistralV1.
   * `'auto'` or `{ jinja }`: a Hugging Face chat template, see renderChat; the
   * control tokens the template writes become ids, text inside messages never does.
   * Text between control tokens is encoded as one piece, with SentencePiece's dummy
   * prefix only at the very start of the conversation (what tokenizers' Metaspace
   * `prepend_scheme: "first"` does; Mistral's template spells the spaces itself).
   */
  encodeChat(
    messages: readonly ChatMessage[],
    template: ChatTemplate = 'mistral-v1',
    options: RenderChatOptions = {},
  ): number[] {
    if (template === 'mistral-v1') return encodeMistralV1(this, messages);
    const ids: number[] = [];
    this.renderChatParts(messages, template, options).parts.forEach((part, i) => {
      if ('special' in part) ids.push(part.special);
      else this.encodeInto(part.text, ids, i === 0);
    });
    return ids;
  }

  /** The text a Jinja chat template (`'auto'`: tokenizer_config.json's) renders for `messages`. */
  renderChat(
    messages: readonly ChatMessage[],
    template: Exclude<ChatTemplate, 'mistral-v1'> = 'auto',
    options: RenderChatOptions = {},
  ): string {
    return this.renderChatParts(messages, template, options).text;
  }

  private renderChatParts(
    messages: readonly ChatMessage[],
    template: ChatTemplate,
    options: RenderChatOptions,
  ): RenderedChat {
    const parsed = parseWith(messagesSchema, messages, { what: 'chat messages', code: 'E_INPUT' });
    let source: string;
    let file: string;
    if (template === 'auto') {
      if (this.chatTemplate === null) {
        throw new RemaxError('E_CONFIG', 'the tokenizer has no chat template', {
          file: this.file,
          field: 'chat_template',
          expected:
            "a tokenizer_config.json with chat_template beside the tokenizer, or 'mistral-v1'",
        });
      }
      source = this.chatTemplate;
      file = `${this.file} (tokenizer_config.json chat_template)`;
    } else if (
      typeof template === 'object' &&
      template !== null &&
      typeof template.jinja === 'string'
    ) {
      source = template.jinja;
      file = template.file ?? 'chat template';
    } else {
      throw new RemaxError('E_UNSUPPORTED', 'unknown chat template', {
        field: 'template',
        value: template,
        expected: "'mistral-v1', 'auto' or { jinja: string }",
      });
    }
    return renderChatTemplate(source, parsed, this.templateVocab(), options, file);
  }

  /** Control and unknown pieces are the texts a template may turn into ids. */
  private templateVocab(): TemplateVocab {
    if (this.templateVocabCache === undefined) {
      const specials = new Map<string, number>();
      this.model.pieces.forEach((p, id) => {
        const t = this.model.types[id];
        if ((t === PieceType.CONTROL || t === PieceType.UNKNOWN) && !specials.has(p))
          specials.set(p, id);
      });
      const piece = (id: number) => (id >= 0 ? this.model.pieces[id]! : null);
      this.templateVocabCache = {
        specials,
        tokens: {
          bos_token: piece(this.bosId),
          eos_token: piece(this.eosId),
          unk_token: piece(this.unkId),
          pad_token: this.model.declaredPadId >= 0 ? piece(this.model.declaredPadId) : null,
        },
      };
    }
    return this.templateVocabCache;
  }

  /** Pieces of `text` (no BOS/EOS): `idToPiece` of each id of `encode(text)`. */
  encodeAsPieces(text: string): string[] {
    return this.encode(text).map((id) => this.model.pieces[id]!);
  }

  private requireSpecial(id: number, what: string): number {
    if (id < 0) {
      throw new RemaxError('E_TOKENIZER', `the tokenizer has no ${what} token`, {
        file: this.file,
        field: `${what}Id`,
      });
    }
    return id;
  }

  /**
   * Appends the ids of `text` (no specials) to `out`. `dummyPrefix: false` leaves
   * out SentencePiece's leading `▁` (text that continues a conversation).
   */
  encodeInto(text: string, out: number[], dummyPrefix = true): void {
    if (this.rawWordKeys) {
      this.encodeRawWords(text, out, dummyPrefix);
      return;
    }
    const settings = this.model.normalizer;
    const normalized = normalizeText(
      text,
      dummyPrefix ? settings : { ...settings, addDummyPrefix: false },
    );
    if (normalized.length === 0) return;
    const start = out.length;
    const encoder = this.model.encoder;
    if (!this.splitWords) {
      encoder.encodeWord(normalized, out);
    } else {
      const space = this.model.normalizer.escapeWhitespaces ? SPACE_SYMBOL_CODE : 0x20;
      let wordStart = 0;
      let prevIsSpace = normalized.charCodeAt(0) === space;
      for (let i = 1; i <= normalized.length; i++) {
        const isSpace = i < normalized.length && normalized.charCodeAt(i) === space;
        if (i === normalized.length || (isSpace && !prevIsSpace)) {
          this.encodeWordCached(normalized.slice(wordStart, i), out);
          wordStart = i;
        }
        prevIsSpace = isSpace;
      }
    }
    if (this.compressUnknown) {
      // SentencePiece merges a run of unknown pieces into one unknown piece.
      let w = start;
      for (let r = start; r < out.length; r++) {
        if (out[r] === this.unkId && w > start && out[w - 1] === this.unkId) continue;
        out[w++] = out[r]!;
      }
      out.length = w;
    }
  }

  /**
   * The common case (identity normalization with escaped spaces and no whitespace
   * cleanup) without building the normalized text: words are cut from the raw
   * text, where ' ' and '▁' are both spaces, and normalized one by one (only on a
   * cache miss). Same words, same ids as normalizeText + split.
   */
  private encodeRawWords(text: string, out: number[], dummyPrefix: boolean): void {
    const t = toWellFormed(text);
    const n = t.length;
    if (n === 0) return;
    let wordStart = 0;
    let first = this.model.normalizer.addDummyPrefix && dummyPrefix;
    let c = t.charCodeAt(0);
    let prevIsSpace = c === 0x20 || c === SPACE_SYMBOL_CODE;
    for (let j = 1; j <= n; j++) {
      c = j < n ? t.charCodeAt(j) : 0;
      const isSpace = j < n && (c === 0x20 || c === SPACE_SYMBOL_CODE);
      if (j === n || (isSpace && !prevIsSpace)) {
        const raw = t.slice(wordStart, j);
        this.encodeWordCached(first ? SPACE_SYMBOL + raw : raw, out);
        first = false;
        wordStart = j;
      }
      prevIsSpace = isSpace;
    }
  }

  /** `word` may still hold ' ' (raw words): it is escaped to '▁' before encoding. */
  private encodeWordCached(word: string, out: number[]): void {
    if (word.length > MAX_CACHED_WORD) {
      this.model.encoder.encodeWord(this.escapeSpaces(word), out);
      return;
    }
    let ids = this.cache.get(word);
    if (ids === undefined) {
      ids = [];
      this.model.encoder.encodeWord(this.escapeSpaces(word), ids);
      if (this.cache.size >= MAX_CACHE_ENTRIES) this.cache.clear();
      this.cache.set(word, ids);
    }
    for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
  }

  /**
   * Text of `ids`, as SentencePiece decodes: byte pieces assembled into UTF-8
   * (invalid bytes become U+FFFD), the dummy-prefix space of the first piece removed,
   * control tokens skipped unless `skipSpecialTokens` is false.
   */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const state = new DecodeState(this.decodeVocab, options.skipSpecialTokens ?? true);
    let text = '';
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      this.checkId(id, i);
      text += state.push(id);
    }
    return text + state.takeBytes(state.bytes.length);
  }

  /** A decoder for generation display that never emits half a UTF-8 character. */
  createStreamDecoder(options: DecodeOptions = {}): StreamDecoder {
    return new StreamDecoder(
      new DecodeState(this.decodeVocab, options.skipSpecialTokens ?? true),
      (id: number) => this.checkId(id, 0),
    );
  }

  private checkId(id: number, index: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new RemaxError('E_INPUT', 'token id out of range', {
        field: `ids[${index}]`,
        value: id,
        expected: `an integer in [0, ${this.vocabSize})`,
      });
    }
  }

  /** The piece text of `id` (e.g. "▁Hello", "<0x0A>", "<s>"). */
  idToPiece(id: number): string {
    this.checkId(id, 0);
    return this.model.pieces[id]!;
  }

  /** The id of a piece's exact text, or undefined when it is no piece. */
  pieceToId(piece: string): number | undefined {
    return this.pieceIds.get(piece);
  }

  /** True for control ids (`<s>`, `</s>`), which decode skips by default. */
  isControl(id: number): boolean {
    return this.model.types[id] === PieceType.CONTROL;
  }
}

function hasSpaceAfterNonSpace(piece: string, space: number): boolean {
  for (let i = 1; i < piece.length; i++) {
    if (piece.charCodeAt(i) === space && piece.charCodeAt(i - 1) !== space) return true;
  }
  return false;
}
