import { SentencePieceProcessor } from '@agnai/sentencepiece-js';
import { Rng } from '@remax/core';
import { describe, expect, it } from 'vitest';
import { Tokenizer } from '../src/index.js';
import { FIXTURES } from './fixtures.js';
import { randomText } from './randomText.js';

// An independent oracle: the SentencePiece C++ library compiled to wasm
// (@agnai/sentencepiece-js, a devDependency). Lone surrogates are left out: that
// binding's string conversion does not replace them the way TextEncoder does.
for (const name of ['mistral-v1', 'llama']) {
  it(`${name}: equals the SentencePiece C++ library on 1000 random texts, from both files`, async () => {
    const spp = new SentencePieceProcessor();
    await spp.load(`${FIXTURES}${name}.model`);
    const fromModel = await Tokenizer.fromFile(`${FIXTURES}${name}.model`);
    const fromJson = await Tokenizer.fromFile(`${FIXTURES}${name}-tokenizer.json`);
    const rng = Rng.derive(21, name === 'llama' ? 1 : 0);
    for (let i = 0; i < 1000; i++) {
      const text = randomText(rng, 24).replace(/[\uD800-\uDFFF]/g, '');
      const want = spp.encodeIds(text);
      expect(fromModel.encode(text), JSON.stringify(text)).toEqual(want);
      expect(fromJson.encode(text), JSON.stringify(text)).toEqual(want);
    }
  });
}

describe('decode equals the library', () => {
  it('on random id sequences (bytes, controls, unknown)', async () => {
    const spp = new SentencePieceProcessor();
    await spp.load(`${FIXTURES}mistral-v1.model`);
    const tok = await Tokenizer.fromFile(`${FIXTURES}mistral-v1.model`);
    const rng = Rng.fromSeed(22);
    for (let i = 0; i < 500; i++) {
      const ids = Array.from({ length: rng.nextInt(25) }, () =>
        rng.nextInt(3) === 0 ? rng.nextInt(259) : rng.nextInt(tok.vocabSize),
      );
      expect(tok.decode(ids), JSON.stringify(ids)).toBe(spp.decodeIds(ids));
    }
  });
});
