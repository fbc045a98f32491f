import { RemaxError } from '@remax/core';
import protobuf from 'protobufjs';

/**
 * The subset of google/sentencepiece `src/sentencepiece_model.proto` (proto2) that
 * encoding and decoding read. Field names, numbers and proto2 defaults are those of
 * the real schema; unknown fields (training options we do not read) are skipped by
 * the wire decoder.
 */
const descriptor = {
  nested: {
    sentencepiece: {
      nested: {
        TrainerSpec: {
          fields: {
            model_type: { type: 'int32', id: 3, options: { default: 1 } },
            vocab_size: { type: 'int32', id: 4, options: { default: 8000 } },
            split_by_whitespace: { type: 'bool', id: 22, options: { default: true } },
            treat_whitespace_as_suffix: { type: 'bool', id: 24, options: { default: false } },
            byte_fallback: { type: 'bool', id: 35, options: { default: false } },
            unk_id: { type: 'int32', id: 40, options: { default: 0 } },
            bos_id: { type: 'int32', id: 41, options: { default: 1 } },
            eos_id: { type: 'int32', id: 42, options: { default: 2 } },
            pad_id: { type: 'int32', id: 43, options: { default: -1 } },
            unk_surface: { type: 'string', id: 44, options: { default: ' \u2047 ' } },
            bos_piece: { type: 'string', id: 46, options: { default: '<s>' } },
            eos_piece: { type: 'string', id: 47, options: { default: '</s>' } },
            pad_piece: { type: 'string', id: 48, options: { default: '<pad>' } },
          },
        },
        NormalizerSpec: {
          fields: {
            name: { type: 'string', id: 1 },
            precompiled_charsmap: { type: 'bytes', id: 2 },
            add_dummy_prefix: { type: 'bool', id: 3, options: { default: true } },
            remove_extra_whitespaces: { type: 'bool', id: 4, options: { default: true } },
            escape_whitespaces: { type: 'bool', id: 5, options: { default: true } },
          },
        },
        ModelProto: {
          fields: {
            pieces: { rule: 'repeated', type: 'SentencePiece', id: 1 },
            trainer_spec: { type: 'TrainerSpec', id: 2 },
            normalizer_spec: { type: 'NormalizerSpec', id: 3 },
            denormalizer_spec: { type: 'NormalizerSpec', id: 5 },
          },
          nested: {
            SentencePiece: {
              fields: {
                piece: { type: 'string', id: 1 },
                score: { type: 'float', id: 2 },
                type: { type: 'int32', id: 3, options: { default: 1 } },
              },
            },
          },
        },
      },
    },
  },
};

/** ModelProto.SentencePiece.Type numbers. */
export const PieceType = {
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;

/** TrainerSpec.ModelType numbers. */
export const ModelType = { UNIGRAM: 1, BPE: 2, WORD: 3, CHAR: 4 } as const;

export interface SentencePieceEntry {
  piece: string;
  score: number;
  type: number;
}

export interface NormalizerSpecData {
  name: string;
  precompiledCharsmapBytes: number;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  escapeWhitespaces: boolean;
}

export interface ModelProtoData {
  pieces: SentencePieceEntry[];
  trainer: {
    modelType: number;
    treatWhitespaceAsSuffix: boolean;
    byteFallback: boolean;
    unkId: number;
    bosId: number;
    eosId: number;
    padId: number;
    unkSurface: string;
    bosPiece: string;
    eosPiece: string;
    padPiece: string;
  };
  normalizer: NormalizerSpecData;
  /** Present only when the file has a denormalizer_spec. */
  denormalizer: NormalizerSpecData | undefined;
}

let modelProtoType: protobuf.Type | undefined;

function modelProto(): protobuf.Type {
  modelProtoType ??= protobuf.Root.fromJSON(descriptor).lookupType('sentencepiece.ModelProto');
  return modelProtoType;
}

interface RawNormalizer {
  name: string;
  precompiled_charsmap: Uint8Array;
  add_dummy_prefix: boolean;
  remove_extra_whitespaces: boolean;
  escape_whitespaces: boolean;
}

interface RawModel {
  pieces: { piece: string; score: number; type: number }[];
  trainer_spec?: {
    model_type: number;
    treat_whitespace_as_suffix: boolean;
    byte_fallback: boolean;
    unk_id: number;
    bos_id: number;
    eos_id: number;
    pad_id: number;
    unk_surface: string;
    bos_piece: string;
    eos_piece: string;
    pad_piece: string;
  };
  normalizer_spec?: RawNormalizer;
  denormalizer_spec?: RawNormalizer;
}

function normalizerOf(raw: RawNormalizer | undefined): NormalizerSpecData {
  // An absent message reads as all proto2 defaults, as in the C++ library.
  return {
    name: raw?.name ?? '',
    precompiledCharsmapBytes: raw?.precompiled_charsmap?.length ?? 0,
    addDummyPrefix: raw?.add_dummy_prefix ?? true,
    removeExtraWhitespaces: raw?.remove_extra_whitespaces ?? true,
    escapeWhitespaces: raw?.escape_whitespaces ?? true,
  };
}

/** Decodes the bytes of a SentencePiece `.model` file (a serialized ModelProto). */
export function decodeModelProto(bytes: Uint8Array, file: string): ModelProtoData {
  let raw: RawModel;
  try {
    const type = modelProto();
    raw = type.toObject(type.decode(bytes), { defaults: true, bytes: Uint8Array }) as RawModel;
  } catch (cause) {
    throw new RemaxError('E_FORMAT', 'not a SentencePiece ModelProto', {
      file,
      expected: 'a serialized sentencepiece.ModelProto (tokenizer.model)',
      cause,
    });
  }
  const t = raw.trainer_spec;
  return {
    pieces: raw.pieces.map((p) => ({ piece: p.piece, score: p.score, type: p.type })),
    trainer: {
      modelType: t?.model_type ?? ModelType.UNIGRAM,
      treatWhitespaceAsSuffix: t?.treat_whitespace_as_suffix ?? false,
      byteFallback: t?.byte_fallback ?? false,
      unkId: t?.unk_id ?? 0,
      bosId: t?.bos_id ?? 1,
      eosId: t?.eos_id ?? 2,
      padId: t?.pad_id ?? -1,
      unkSurface: t?.unk_surface ?? ' \u2047 ',
      bosPiece: t?.bos_piece ?? '<s>',
      eosPiece: t?.eos_piece ?? '</s>',
      padPiece: t?.pad_piece ?? '<pad>',
    },
    normalizer: normalizerOf(raw.normalizer_spec),
    denormalizer: raw.denormalizer_spec ? normalizerOf(raw.denormalizer_spec) : undefined,
  };
}
