import { beforeAll, describe, expect, it } from 'vitest';
import { Tokenizer } from '../src/index.js';
import { type ChatCase, FIXTURES, readJsonl, type TextCase } from './fixtures.js';

// Golden ids / pieces / decoded text by the SentencePiece C++ library, and chat ids by
// mistral-common (fixtures/FIXTURES.md). Every case must hold from both file formats.
const SOURCES = [
  {
    name: 'mistral-v1',
    cases: 'mistral-v1.jsonl',
    files: ['mistral-v1.model', 'mistral-v1-tokenizer.json'],
  },
  { name: 'llama', cases: 'llama.jsonl', files: ['llama.model', 'llama-tokenizer.json'] },
];

for (const source of SOURCES) {
  const cases = readJsonl<TextCase>(source.cases);
  for (const file of source.files) {
    describe(`${file} on ${source.cases}`, () => {
      let tok: Tokenizer;
      beforeAll(async () => {
        tok = await Tokenizer.fromFile(FIXTURES + file);
      });

      it('has the expected special ids', () => {
        expect(cases.length).toBeGreaterThan(300);
        expect([tok.vocabSize, tok.unkId, tok.bosId, tok.eosId]).toEqual([32000, 0, 1, 2]);
      });

      it('encodes every case to the golden ids and pieces', () => {
        const wrong: string[] = [];
        for (const c of cases) {
          const ids = tok.encode(c.text);
          if (JSON.stringify(ids) !== JSON.stringify(c.ids)) {
            wrong.push(
              `${JSON.stringify(c.text)}: got ${JSON.stringify(ids)} want ${JSON.stringify(c.ids)}`,
            );
            continue;
          }
          expect(ids.map((id) => tok.idToPiece(id))).toEqual(c.pieces);
        }
        expect(wrong.slice(0, 10)).toEqual([]);
      });

      it('decodes every case to the golden text', () => {
        const wrong: string[] = [];
        for (const c of cases) {
          const text = tok.decode(c.ids);
          if (text !== c.decoded)
            wrong.push(
              `${JSON.stringify(c.ids)}: got ${JSON.stringify(text)} want ${JSON.stringify(c.decoded)}`,
            );
        }
        expect(wrong.slice(0, 10)).toEqual([]);
      });

      it('adds BOS/EOS only when asked', () => {
        expect(tok.encode('Hello', { addBos: true })[0]).toBe(1);
        expect(tok.encode('Hello', { addEos: true }).at(-1)).toBe(2);
        expect(tok.encode('Hello')).not.toContain(1);
      });
    });
  }
}

describe('mistral-v1 chat', () => {
  const cases = readJsonl<ChatCase>('mistral-v1-chat.jsonl');
  for (const file of ['mistral-v1.model', 'mistral-v1-tokenizer.json']) {
    it(`matches mistral-common for every chat case (${file})`, async () => {
      const tok = await Tokenizer.fromFile(FIXTURES + file);
      expect(cases.length).toBeGreaterThan(0);
      for (const c of cases) expect(tok.encodeChat(c.messages, 'mistral-v1')).toEqual(c.ids);
    });
  }
});
