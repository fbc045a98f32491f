import { Rng } from '@remax/core';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { Tokenizer } from '../src/index.js';
import { normalizeText } from '../src/normalize.js';
import { naiveSentencePiece } from './reference.js';

// A hand-made ModelProto exercising what the Mistral/Llama files do not contain:
// USER_DEFINED symbols (matched longest-first, never merged) and UNUSED pieces
// (split back into the pair that formed them), with byte fallback.
const root = protobuf.parse(`syntax = "proto2"; package sentencepiece;
  message TrainerSpec { optional int32 model_type = 3; optional bool byte_fallback = 35; }
  message NormalizerSpec { optional string name = 1; optional bool add_dummy_prefix = 3; optional bool remove_extra_whitespaces = 4; }
  message SentencePiece { optional string piece = 1; optional float score = 2; optional int32 type = 3; }
  message ModelProto { repeated SentencePiece pieces = 1; optional TrainerSpec trainer_spec = 2; optional NormalizerSpec normalizer_spec = 3; }`).root;
const ModelProto = root.lookupType('sentencepiece.ModelProto');

const NORMAL = 1;
const pieces = [
  { piece: '<unk>', score: 0, type: 2 },
  { piece: '<s>', score: 0, type: 3 },
  { piece: '</s>', score: 0, type: 3 },
  ...Array.from({ length: 256 }, (_, b) => ({
    piece: `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`,
    score: 0,
    type: 6,
  })),
  { piece: '▁', score: 0, type: NORMAL }, // 259
  { piece: 'a', score: 0, type: NORMAL }, // 260
  { piece: 'b', score: 0, type: NORMAL }, // 261
  { piece: 'c', score: 0, type: NORMAL }, // 262
  { piece: 'ab', score: -1, type: NORMAL }, // 263
  { piece: 'abc', score: -2, type: 5 }, // 264 UNUSED
  { piece: '▁ab', score: -3, type: NORMAL }, // 265
  { piece: '<tool>', score: 0, type: 4 }, // 266 USER_DEFINED
  { piece: '<t', score: 0, type: 4 }, // 267 USER_DEFINED
];

function tinyModel(
  normalizer: Record<string, unknown> = {},
  piecesOf = pieces,
  byteFallback = true,
): Tokenizer {
  const bytes = ModelProto.encode(
    ModelProto.fromObject({
      pieces: piecesOf,
      trainerSpec: { modelType: 2, byteFallback },
      normalizerSpec: {
        name: 'identity',
        addDummyPrefix: true,
        removeExtraWhitespaces: false,
        ...normalizer,
      },
    }),
  ).finish();
  return Tokenizer.fromSentencePiece(bytes, { file: 'tiny.model' });
}

describe('hand-made SentencePiece model', () => {
  const tok = tinyModel();

  it('splits an UNUSED merge result back into the pair that formed it', () => {
    // ▁ a b c: "ab" (-1) merges, then "abc" (-2) beats "▁ab" (-3); abc is UNUSED -> ab, c.
    expect(tok.encode('abc')).toEqual([259, 263, 262]);
    expect(tok.decode([259, 263, 262])).toBe('abc');
    expect(tok.encode('ab')).toEqual([265]);
  });

  it('matches user-defined symbols longest-first and never merges them', () => {
    expect(tok.encode('a<tool>b')).toEqual([259, 260, 266, 261]);
    const x = 3 + 'x'.charCodeAt(0);
    expect(tok.encode('<tx')).toEqual([259, 267, x]);
    expect(tok.decode(tok.encode('a<tool>b <t'))).toBe('a<tool>b <t');
  });

  it('falls back to bytes for characters that are no piece', () => {
    expect(tok.encode('é')).toEqual([259, 3 + 0xc3, 3 + 0xa9]);
  });

  it('honours add_dummy_prefix = false and remove_extra_whitespaces', () => {
    expect(tinyModel({ addDummyPrefix: false }).encode('ab')).toEqual([263]);
    const squeeze = tinyModel({ removeExtraWhitespaces: true });
    expect(squeeze.encode('  a   b  ')).toEqual(squeeze.encode('a b'));
    expect(squeeze.decode(squeeze.encode('  a   b  '))).toBe('a b');
  });
});

describe('word splitting on other normalizer settings', () => {
  // No user-defined symbols, so words are cut at spaces; these settings take the
  // normalize-then-split path instead of the raw-text one.
  const plain = pieces.filter((p) => p.type !== 4);
  const noBytes = plain.filter((p) => p.type !== 6);
  const cases = [
    {
      name: 'remove_extra_whitespaces',
      normalizer: { removeExtraWhitespaces: true },
      list: plain,
      byteFallback: true,
    },
    { name: 'no byte fallback', normalizer: {}, list: noBytes, byteFallback: false },
  ];
  for (const c of cases) {
    it(`${c.name}: equals the whole-text naive reference`, () => {
      const tok = tinyModel(c.normalizer, c.list, c.byteFallback);
      const naive = naiveSentencePiece({
        pieces: c.list.map((p) => p.piece),
        types: Uint8Array.from(c.list.map((p) => p.type)),
        scores: Float32Array.from(c.list.map((p) => p.score)),
      });
      const settings = {
        addDummyPrefix: true,
        removeExtraWhitespaces: c.normalizer.removeExtraWhitespaces === true,
        escapeWhitespaces: true,
      };
      const rng = Rng.fromSeed(31);
      const alphabet = ['a', 'b', 'c', ' ', ' ', '▁', 'x', 'é', '日'];
      for (let i = 0; i < 300; i++) {
        const text = Array.from(
          { length: rng.nextInt(14) },
          () => alphabet[rng.nextInt(alphabet.length)],
        ).join('');
        expect(tok.encode(text), JSON.stringify(text)).toEqual(
          naive(normalizeText(text, settings)),
        );
      }
    });
  }
});
