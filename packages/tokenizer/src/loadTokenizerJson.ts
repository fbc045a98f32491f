import { parseWith, RemaxError } from '@remax/core';
import { z } from 'zod';
import { HuggingFaceBpe } from './huggingFaceBpe.js';
import { PieceType } from './sentencepieceProto.js';
import type { NormalizerSettings, TokenizerModel } from './tokenizerModel.js';

const SPACE_SYMBOL = '\u2581';

const addedTokenSchema = z.looseObject({
  id: z.number().int().nonnegative(),
  content: z.string().min(1),
  special: z.boolean(),
});

const bpeModelSchema = z.looseObject({
  type: z.literal('BPE'),
  // vocab (tens of thousands of entries) and merges are checked by hand: zod on
  // them costs most of the load time.
  vocab: z.custom<Record<string, unknown>>(
    (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
    'expected an object of piece -> id',
  ),
  merges: z.custom<unknown[]>((v) => Array.isArray(v), 'expected an array of merges'),
  unk_token: z.string().nullish(),
  byte_fallback: z.boolean().nullish(),
  fuse_unk: z.boolean().nullish(),
  dropout: z.number().nullish(),
  continuing_subword_prefix: z.string().nullish(),
  end_of_word_suffix: z.string().nullish(),
  ignore_merges: z.boolean().nullish(),
});

const tokenizerJsonSchema = z.looseObject({
  added_tokens: z.array(addedTokenSchema).nullish(),
  normalizer: z.unknown().nullish(),
  pre_tokenizer: z.unknown().nullish(),
  decoder: z.unknown().nullish(),
  model: z.looseObject({ type: z.string().optional() }),
});

const tokenSpecSchema = z.union([z.string(), z.looseObject({ content: z.string() })]);
const tokenizerConfigSchema = z.looseObject({
  bos_token: tokenSpecSchema.nullish(),
  eos_token: tokenSpecSchema.nullish(),
  pad_token: tokenSpecSchema.nullish(),
});

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function unsupported(file: string, field: string, value: unknown, expected: string): RemaxError {
  return new RemaxError('E_UNSUPPORTED', `unsupported tokenizer.json feature: ${field}`, {
    file,
    field,
    value,
    expected,
  });
}

const isPrepend = (n: Json): boolean => n['type'] === 'Prepend' && n['prepend'] === SPACE_SYMBOL;
const isSpaceReplace = (n: Json): boolean =>
  n['type'] === 'Replace' &&
  isObject(n['pattern']) &&
  n['pattern']['String'] === ' ' &&
  n['content'] === SPACE_SYMBOL;

/**
 * The two ways Llama-family tokenizer.json files spell SentencePiece's identity
 * normalization: normalizer Sequence[Prepend("▁"), Replace(" ", "▁")] with no
 * pre-tokenizer, or a Metaspace pre-tokenizer that does not split.
 */
function normalizerSettingsOf(
  json: z.output<typeof tokenizerJsonSchema>,
  file: string,
): NormalizerSettings {
  const settings: NormalizerSettings = {
    addDummyPrefix: false,
    removeExtraWhitespaces: false,
    escapeWhitespaces: false,
  };
  const norm = json.normalizer;
  if (norm !== null && norm !== undefined) {
    const steps = isObject(norm) && norm['type'] === 'Sequence' ? norm['normalizers'] : [norm];
    if (!Array.isArray(steps))
      throw unsupported(file, 'normalizer', norm, 'a Sequence of normalizers');
    let i = 0;
    const first = steps[0];
    if (isObject(first) && isPrepend(first)) {
      settings.addDummyPrefix = true;
      i = 1;
    }
    const second = steps[i];
    if (isObject(second) && isSpaceReplace(second)) {
      settings.escapeWhitespaces = true;
      i++;
    }
    if (i !== steps.length) {
      throw unsupported(
        file,
        'normalizer',
        steps.map((s) => (isObject(s) ? s['type'] : s)),
        'Prepend("▁") then Replace(" ", "▁") (SentencePiece identity normalization)',
      );
    }
  }
  const pre = json.pre_tokenizer;
  if (pre !== null && pre !== undefined) {
    const ok =
      isObject(pre) &&
      pre['type'] === 'Metaspace' &&
      pre['replacement'] === SPACE_SYMBOL &&
      pre['split'] === false &&
      (norm === null || norm === undefined);
    if (!ok || !isObject(pre)) {
      throw unsupported(
        file,
        'pre_tokenizer',
        isObject(pre) ? pre['type'] : pre,
        'none, or Metaspace("▁", split: false) (a splitting pre-tokenizer changes BPE results)',
      );
    }
    settings.escapeWhitespaces = true;
    const scheme =
      pre['prepend_scheme'] ?? (pre['add_prefix_space'] === false ? 'never' : 'always');
    // 'first' prepends to the first section only; we never split on added tokens, so
    // the whole text is that section.
    settings.addDummyPrefix = scheme === 'always' || scheme === 'first';
  }
  return settings;
}

/** Only decoders that mean SentencePiece's decoding are accepted (we decode like it). */
function checkDecoder(decoder: unknown, file: string): void {
  const known = new Set(['Replace', 'ByteFallback', 'Fuse', 'Strip']);
  if (isObject(decoder) && decoder['type'] === 'Metaspace') return;
  const steps =
    isObject(decoder) && decoder['type'] === 'Sequence' ? decoder['decoders'] : undefined;
  const ok =
    Array.isArray(steps) &&
    steps.every((s) => isObject(s) && known.has(String(s['type']))) &&
    steps.some(
      (s) =>
        isObject(s) &&
        s['type'] === 'Replace' &&
        isObject(s['pattern']) &&
        s['pattern']['String'] === SPACE_SYMBOL &&
        s['content'] === ' ',
    );
  if (!ok) {
    throw unsupported(
      file,
      'decoder',
      isObject(decoder) ? decoder['type'] : decoder,
      'Sequence[Replace("▁", " "), ByteFallback, Fuse, Strip] or Metaspace',
    );
  }
}

function tokenText(spec: z.output<typeof tokenSpecSchema> | null | undefined): string | undefined {
  if (spec === null || spec === undefined) return undefined;
  return typeof spec === 'string' ? spec : spec.content;
}

/**
 * Builds a TokenizerModel from a parsed Hugging Face tokenizer.json (BPE) and its
 * optional tokenizer_config.json (for bos/eos/pad tokens).
 */
export function tokenizerJsonModelFrom(
  data: unknown,
  config: unknown,
  file: string,
  configFile?: string,
): TokenizerModel {
  const json = parseWith(tokenizerJsonSchema, data, {
    file,
    what: 'tokenizer.json',
    code: 'E_FORMAT',
  });
  if (json.model.type !== 'BPE') {
    throw unsupported(file, 'model.type', json.model.type ?? '(missing)', 'BPE');
  }
  const model = parseWith(bpeModelSchema, json.model, { file, what: 'model', code: 'E_FORMAT' });
  if (model.dropout !== null && model.dropout !== undefined && model.dropout !== 0) {
    throw unsupported(file, 'model.dropout', model.dropout, 'null (BPE-dropout is for training)');
  }
  if (model.continuing_subword_prefix || model.end_of_word_suffix) {
    throw unsupported(
      file,
      'model.continuing_subword_prefix',
      model.continuing_subword_prefix,
      'null',
    );
  }
  if (model.ignore_merges) throw unsupported(file, 'model.ignore_merges', true, 'false');
  const normalizer = normalizerSettingsOf(json, file);
  checkDecoder(json.decoder, file);
  const cfg = parseWith(tokenizerConfigSchema, config ?? {}, {
    file: configFile ?? file,
    what: 'tokenizer_config.json',
    code: 'E_FORMAT',
  });

  const vocab = new Map<string, number>();
  for (const [piece, id] of Object.entries(model.vocab)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new RemaxError('E_FORMAT', 'a vocab id is not a non-negative integer', {
        file,
        field: `model.vocab[${JSON.stringify(piece)}]`,
        value: id,
      });
    }
    vocab.set(piece, id);
  }
  const added = json.added_tokens ?? [];
  let size = 0;
  for (const id of vocab.values()) size = Math.max(size, id + 1);
  for (const t of added) size = Math.max(size, t.id + 1);
  const pieces: (string | undefined)[] = new Array(size).fill(undefined);
  for (const [piece, id] of vocab) pieces[id] = piece;
  const types = new Uint8Array(size).fill(PieceType.NORMAL);
  for (const t of added) {
    if (pieces[t.id] !== undefined && pieces[t.id] !== t.content) {
      throw new RemaxError('E_FORMAT', 'an added token disagrees with the vocab', {
        file,
        field: `added_tokens id ${t.id}`,
        value: t.content,
        expected: JSON.stringify(pieces[t.id]),
      });
    }
    if (!t.special) {
      throw unsupported(file, 'added_tokens (non-special)', t.content, 'special added tokens only');
    }
    pieces[t.id] = t.content;
    types[t.id] = PieceType.CONTROL;
  }
  const hole = pieces.indexOf(undefined);
  if (hole >= 0) {
    throw new RemaxError('E_FORMAT', 'token ids are not contiguous', {
      file,
      field: 'model.vocab',
      value: hole,
    });
  }
  const byteFallback = model.byte_fallback ?? false;
  if (byteFallback) {
    pieces.forEach((p, id) => {
      if (types[id] === PieceType.NORMAL && /^<0x[0-9A-F]{2}>$/.test(p!))
        types[id] = PieceType.BYTE;
    });
  }
  const idOf = (text: string | undefined, field: string): number => {
    if (text === undefined) return -1;
    const id = vocab.get(text) ?? added.find((t) => t.content === text)?.id;
    if (id === undefined) {
      throw new RemaxError('E_FORMAT', 'token is not in the vocabulary', {
        file: configFile ?? file,
        field,
        value: text,
      });
    }
    return id;
  };
  const unkId = idOf(model.unk_token ?? undefined, 'model.unk_token');
  if (unkId >= 0) types[unkId] = PieceType.UNKNOWN;
  const controlDefault = (text: string): string | undefined =>
    added.some((t) => t.content === text && t.special) ? text : undefined;
  const bosText = cfg.bos_token === undefined ? controlDefault('<s>') : tokenText(cfg.bos_token);
  const eosText = cfg.eos_token === undefined ? controlDefault('</s>') : tokenText(cfg.eos_token);
  const merges = model.merges.map((m, rank): [string, string] => {
    if (
      Array.isArray(m) &&
      m.length === 2 &&
      typeof m[0] === 'string' &&
      typeof m[1] === 'string'
    ) {
      return [m[0], m[1]];
    }
    const parts = typeof m === 'string' ? m.split(' ') : [];
    if (parts.length !== 2) {
      throw new RemaxError('E_FORMAT', 'a merge is not "left right" or [left, right]', {
        file,
        field: `model.merges[${rank}]`,
        value: m,
      });
    }
    return [parts[0]!, parts[1]!];
  });
  return {
    file,
    format: 'tokenizer.json',
    pieces: pieces as string[],
    types,
    unkId,
    bosId: idOf(bosText, 'bos_token'),
    eosId: idOf(eosText, 'eos_token'),
    declaredPadId: idOf(tokenText(cfg.pad_token), 'pad_token'),
    byteFallback,
    normalizer,
    unkSurface: ' \u2047 ',
    encoder: new HuggingFaceBpe({
      file,
      vocab,
      merges,
      unkId,
      byteFallback,
      fuseUnk: model.fuse_unk ?? false,
    }),
    hasUserDefined: false,
  };
}
