import { RemaxError } from '@remax/core';
import { SentencePieceBpe } from './sentencePieceBpe.js';
import { decodeModelProto, ModelType, PieceType } from './sentencepieceProto.js';
import type { TokenizerModel } from './tokenizerModel.js';

const MODEL_TYPE_NAMES: Record<number, string> = { 1: 'UNIGRAM', 2: 'BPE', 3: 'WORD', 4: 'CHAR' };

/** Builds a TokenizerModel from the bytes of a SentencePiece `tokenizer.model`. */
export function sentencePieceModelFrom(bytes: Uint8Array, file: string): TokenizerModel {
  const proto = decodeModelProto(bytes, file);
  const unsupported = (feature: string, value: unknown, expected: string): RemaxError =>
    new RemaxError('E_UNSUPPORTED', `unsupported SentencePiece feature: ${feature}`, {
      file,
      field: feature,
      value,
      expected,
    });
  if (proto.trainer.modelType !== ModelType.BPE) {
    const name = MODEL_TYPE_NAMES[proto.trainer.modelType] ?? String(proto.trainer.modelType);
    throw unsupported(
      'trainer_spec.model_type',
      name,
      'BPE (Unigram/word/char models are not implemented)',
    );
  }
  if (proto.normalizer.precompiledCharsmapBytes > 0) {
    throw unsupported(
      'normalizer_spec.precompiled_charsmap',
      `${proto.normalizer.name} (${proto.normalizer.precompiledCharsmapBytes} bytes)`,
      'identity normalization (no precompiled charsmap, e.g. Llama / Mistral)',
    );
  }
  if (proto.denormalizer && proto.denormalizer.precompiledCharsmapBytes > 0) {
    throw unsupported('denormalizer_spec.precompiled_charsmap', proto.denormalizer.name, 'none');
  }
  if (proto.trainer.treatWhitespaceAsSuffix) {
    throw unsupported('trainer_spec.treat_whitespace_as_suffix', true, 'false');
  }
  const n = proto.pieces.length;
  if (n === 0)
    throw new RemaxError('E_FORMAT', 'the model has no pieces', { file, field: 'pieces' });
  const pieces: string[] = new Array(n);
  const types = new Uint8Array(n);
  const scores = new Float32Array(n);
  let unkId = -1;
  proto.pieces.forEach((p, id) => {
    if (p.piece === '') {
      throw new RemaxError('E_FORMAT', 'piece must not be empty', { file, field: `pieces[${id}]` });
    }
    if (p.type < PieceType.NORMAL || p.type > PieceType.BYTE) {
      throw new RemaxError('E_FORMAT', 'unknown piece type', {
        file,
        field: `pieces[${id}].type`,
        value: p.type,
        expected: 'NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED or BYTE',
      });
    }
    if (p.type === PieceType.BYTE && !proto.trainer.byteFallback) {
      throw new RemaxError('E_FORMAT', 'byte piece found although byte_fallback is false', {
        file,
        field: `pieces[${id}]`,
        value: p.piece,
      });
    }
    if (p.type === PieceType.UNKNOWN) {
      if (unkId >= 0)
        throw new RemaxError('E_FORMAT', 'unk is already defined', {
          file,
          field: `pieces[${id}]`,
        });
      unkId = id;
    }
    pieces[id] = p.piece;
    types[id] = p.type;
    scores[id] = p.score;
  });
  if (unkId < 0) throw new RemaxError('E_FORMAT', 'unk is not defined', { file, field: 'pieces' });
  // SentencePieceProcessor::bos_id(): the id of bos_piece when it is a control piece.
  const controlIdOf = (piece: string): number => {
    let id = -1;
    for (let i = 0; i < n && id < 0; i++)
      if (pieces[i] === piece && types[i] === PieceType.CONTROL) id = i;
    return id;
  };
  return {
    file,
    format: 'sentencepiece',
    pieces,
    types,
    unkId,
    bosId: controlIdOf(proto.trainer.bosPiece),
    eosId: controlIdOf(proto.trainer.eosPiece),
    declaredPadId: controlIdOf(proto.trainer.padPiece),
    byteFallback: proto.trainer.byteFallback,
    normalizer: {
      addDummyPrefix: proto.normalizer.addDummyPrefix,
      removeExtraWhitespaces: proto.normalizer.removeExtraWhitespaces,
      escapeWhitespaces: proto.normalizer.escapeWhitespaces,
    },
    unkSurface: proto.trainer.unkSurface,
    encoder: new SentencePieceBpe({
      pieces,
      types,
      scores,
      unkId,
      byteFallback: proto.trainer.byteFallback,
    }),
    hasUserDefined: types.includes(PieceType.USER_DEFINED),
  };
}
