import { readFileSync } from 'node:fs';
import { Rng } from '@remax/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Tokenizer, toWellFormed } from '../src/index.js';
import { normalizeText } from '../src/normalize.js';
import { decodeModelProto } from '../src/sentencepieceProto.js';
import { replaceLoneSurrogates } from '../src/utf8.js';
import { FIXTURES } from './fixtures.js';
import { randomText } from './randomText.js';
import { type NaiveSentencePieceModel, naiveHuggingFace, naiveSentencePiece } from './reference.js';

const NORMALIZER = { addDummyPrefix: true, removeExtraWhitespaces: false, escapeWhitespaces: true };

for (const name of ['mistral-v1', 'llama']) {
  describe(`${name}: properties on random text`, () => {
    let fromModel: Tokenizer;
    let fromJson: Tokenizer;
    let naiveSp: (normalized: string) => number[];
    let naiveHf: (normalized: string) => number[];
    beforeAll(async () => {
      fromModel = await Tokenizer.fromFile(`${FIXTURES}${name}.model`);
      fromJson = await Tokenizer.fromFile(`${FIXTURES}${name}-tokenizer.json`);
      const proto = decodeModelProto(readFileSync(`${FIXTURES}${name}.model`), name);
      const spModel: NaiveSentencePieceModel = {
        pieces: proto.pieces.map((p) => p.piece),
        types: Uint8Array.from(proto.pieces.map((p) => p.type)),
        scores: Float32Array.from(proto.pieces.map((p) => p.score)),
      };
      const json = JSON.parse(readFileSync(`${FIXTURES}${name}-tokenizer.json`, 'utf8'));
      const hfVocab = new Map<string, number>(
        Object.entries(json.model.vocab as Record<string, number>),
      );
      const hfMerges = (json.model.merges as (string | [string, string])[]).map((m) =>
        typeof m === 'string' ? (m.split(' ') as [string, string]) : m,
      );
      naiveSp = naiveSentencePiece(spModel);
      naiveHf = naiveHuggingFace(hfVocab, hfMerges);
    });

    it('fast SentencePiece BPE equals the naive reference (whole text, no cache)', () => {
      const rng = Rng.derive(11, name === 'llama' ? 1 : 0);
      for (let i = 0; i < 150; i++) {
        const text = randomText(rng);
        const want = naiveSp(normalizeText(text, NORMALIZER));
        expect(fromModel.encode(text), JSON.stringify(text)).toEqual(want);
      }
    });

    it('fast Hugging Face BPE equals the naive reference', () => {
      const rng = Rng.derive(12, name === 'llama' ? 1 : 0);
      for (let i = 0; i < 150; i++) {
        const text = randomText(rng);
        const want = naiveHf(normalizeText(text, NORMALIZER));
        expect(fromJson.encode(text), JSON.stringify(text)).toEqual(want);
      }
    });

    it('tokenizer.model and tokenizer.json give identical ids', () => {
      const rng = Rng.derive(13, name === 'llama' ? 1 : 0);
      for (let i = 0; i < 600; i++) {
        const text = randomText(rng, 30);
        expect(fromJson.encode(text), JSON.stringify(text)).toEqual(fromModel.encode(text));
      }
      // Long whitespace runs and repeated characters stress merge ties.
      for (let n = 1; n < 80; n++) {
        for (const unit of [' ', 'a', '\n', '0', ' a', '🙂', '  x', 'ab']) {
          const text = unit.repeat(n);
          expect(fromJson.encode(text), JSON.stringify(text)).toEqual(fromModel.encode(text));
        }
      }
    });

    it('decode(encode(x)) gives x back (lone surrogates as U+FFFD, "▁" as a space)', () => {
      const rng = Rng.derive(14, name === 'llama' ? 1 : 0);
      for (let i = 0; i < 500; i++) {
        const text = randomText(rng, 20);
        const want = toWellFormed(text).replaceAll('\u2581', ' ');
        expect(fromModel.decode(fromModel.encode(text)), JSON.stringify(text)).toBe(want);
        expect(fromJson.decode(fromJson.encode(text, { addBos: true, addEos: true }))).toBe(want);
      }
    });

    it('the stream decoder equals decode and never emits a split character', () => {
      const rng = Rng.derive(15, name === 'llama' ? 1 : 0);
      for (let i = 0; i < 200; i++) {
        // Either a real encoding (bytes of one character split across tokens) or any ids.
        const ids =
          i % 2 === 0
            ? fromModel.encode(randomText(rng, 20).replace(/[\uD800-\uDFFF\uFFFD]/g, 'x'), {
                addBos: true,
              })
            : Array.from({ length: rng.nextInt(30) }, () =>
                rng.nextInt(3) === 0 ? 3 + rng.nextInt(256) : rng.nextInt(fromModel.vocabSize),
              );
        for (const skipSpecialTokens of [true, false]) {
          const stream = fromModel.createStreamDecoder({ skipSpecialTokens });
          const chunks = ids.map((id) => stream.push(id));
          chunks.push(stream.flush());
          expect(chunks.join('')).toBe(fromModel.decode(ids, { skipSpecialTokens }));
          if (i % 2 === 0) for (const c of chunks) expect(c).not.toContain('\uFFFD');
        }
      }
    });

    it('caching words never changes results', () => {
      const rng = Rng.derive(16, name === 'llama' ? 1 : 0);
      const texts = Array.from({ length: 200 }, () => randomText(rng));
      const first = texts.map((t) => fromModel.encode(t));
      const fresh = texts.map((t) => naiveSp(normalizeText(t, NORMALIZER)));
      expect(texts.map((t) => fromModel.encode(t))).toEqual(first);
      expect(first).toEqual(fresh);
    });
  });
}

describe('lone surrogates', () => {
  it('become U+FFFD, as TextEncoder turns them into UTF-8', async () => {
    const tok = await Tokenizer.fromFile(`${FIXTURES}mistral-v1.model`);
    const replaced = tok.encode('a\uFFFDb\uFFFD');
    expect(tok.encode('a\uD800b\uDFFF')).toEqual(replaced);
    expect(tok.decode(replaced)).toBe('a\uFFFDb\uFFFD');
    expect(new TextDecoder().decode(new TextEncoder().encode('a\uD800b\uDFFF'))).toBe(
      'a\uFFFDb\uFFFD',
    );
    // The portable replacement equals the native one on random strings.
    const rng = Rng.fromSeed(17);
    for (let i = 0; i < 300; i++) {
      const text = randomText(rng, 20);
      expect(replaceLoneSurrogates(text)).toBe(
        new TextDecoder().decode(new TextEncoder().encode(text)),
      );
    }
    // A proper pair stays one character.
    expect(tok.decode(tok.encode('\uD83D\uDE42'))).toBe('🙂');
  });
});
