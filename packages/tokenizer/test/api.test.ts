import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { padBatch, Tokenizer } from '../src/index.js';
import { expectRemaxError } from './expectRemaxError.js';
import { FIXTURES } from './fixtures.js';

let mistral: Tokenizer;
beforeAll(async () => {
  mistral = await Tokenizer.fromFile(`${FIXTURES}mistral-v1.model`);
});

describe('special tokens', () => {
  it('keeps "<s>" in text as plain text, never a control id', () => {
    const ids = mistral.encode('<s>[INST] hi </s>');
    expect(ids).not.toContain(mistral.bosId);
    expect(ids).not.toContain(mistral.eosId);
    expect(mistral.decode(ids)).toBe('<s>[INST] hi </s>');
  });

  it('decode skips control ids by default and renders them when asked', () => {
    const ids = [1, ...mistral.encode('Hello'), 2];
    expect(mistral.decode(ids)).toBe('Hello');
    expect(mistral.decode(ids, { skipSpecialTokens: false })).toBe('<s>Hello</s>');
  });

  it('maps pieces and ids both ways', () => {
    expect(mistral.pieceToId('▁Hello')).toBe(22557);
    expect(mistral.idToPiece(22557)).toBe('▁Hello');
    expect(mistral.pieceToId('<0x0A>')).toBe(13);
    expect(mistral.pieceToId('no such piece')).toBeUndefined();
    expect(mistral.isControl(1)).toBe(true);
    expect(mistral.encodeAsPieces('Hello world')).toEqual(['▁Hello', '▁world']);
    expectRemaxError(() => mistral.idToPiece(32000), 'E_INPUT', /out of range/);
    expectRemaxError(() => mistral.decode([5, -1]), 'E_INPUT', /ids\[1\]/);
  });

  it('pads with EOS by default (Mistral declares no pad), or with the id given', async () => {
    expect(mistral.padId).toBe(mistral.eosId);
    const zeroPad = await Tokenizer.fromFile(`${FIXTURES}mistral-v1.model`, { padId: 0 });
    expect(zeroPad.padId).toBe(0);
    await expect(
      Tokenizer.fromFile(`${FIXTURES}mistral-v1.model`, { padId: 32000 }),
    ).rejects.toThrow(/pad id/);
  });

  it('decodes byte-fallback pieces like SentencePiece (invalid bytes -> U+FFFD each)', () => {
    const e4 = mistral.pieceToId('<0xE4>')!;
    const bd = mistral.pieceToId('<0xBD>')!;
    const a0 = mistral.pieceToId('<0xA0>')!;
    expect(mistral.decode([e4, bd, a0])).toBe('你');
    expect(mistral.decode([e4, bd])).toBe('\uFFFD\uFFFD');
    expect(mistral.decode([bd, ...mistral.encode('a')])).toBe('\uFFFD a');
  });
});

describe('encodeBatch', () => {
  it('left-pads by default with mask 0 on pads', () => {
    const texts = ['Hello world', 'a'];
    const { inputIds, attentionMask } = mistral.encodeBatch(texts, { addBos: true });
    const rows = texts.map((t) => mistral.encode(t, { addBos: true }));
    const width = Math.max(...rows.map((r) => r.length));
    rows.forEach((r, i) => {
      const pad = width - r.length;
      expect(inputIds[i]).toEqual([...Array(pad).fill(mistral.padId), ...r]);
      expect(attentionMask[i]).toEqual([...Array(pad).fill(0), ...Array(r.length).fill(1)]);
    });
  });

  it('right-pads and truncates either side, keeping BOS/EOS', () => {
    const full = mistral.encode('one two three four five');
    const right = mistral.encodeBatch(['one two three four five', 'x'], {
      addBos: true,
      addEos: true,
      maxLength: 4,
      padding: 'right',
    });
    expect(right.inputIds[0]).toEqual([1, full[0], full[1], 2]);
    expect(right.inputIds[1]).toEqual([1, ...mistral.encode('x'), 2, mistral.padId]);
    expect(right.attentionMask[1]).toEqual([1, 1, 1, 0]);
    const left = mistral.encodeBatch(['one two three four five'], {
      addBos: true,
      maxLength: 3,
      truncation: 'left',
    });
    expect(left.inputIds[0]).toEqual([1, ...full.slice(-2)]);
    expectRemaxError(
      () => mistral.encodeBatch(['a'], { addBos: true, addEos: true, maxLength: 1 }),
      'E_INPUT',
    );
    expectRemaxError(
      () => mistral.encodeBatch(['a'], { padding: 'middle' as 'left' }),
      'E_INPUT',
      /padding/,
    );
  });

  it('padBatch handles an empty row', () => {
    expect(padBatch([[], [5]], { padId: 9 })).toEqual({
      inputIds: [[9], [5]],
      attentionMask: [[0], [1]],
    });
  });
});

describe('encodeChat mistral-v1', () => {
  const sp = (s: string): number[] => mistral.encode(s);

  it('builds [BOS] + sp("[INST] u [/INST]") + sp(a) + [EOS] per turn', () => {
    const ids = mistral.encodeChat([
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: ' spaced ' },
    ]);
    expect(ids).toEqual([
      1,
      ...sp('[INST] Hi [/INST]'),
      ...sp('Hello!'),
      2,
      ...sp('[INST]  spaced  [/INST]'),
    ]);
    const trailing = mistral.encodeChat([
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Yo' },
    ]);
    expect(trailing.at(-1)).toBe(2);
  });

  it('prepends the joined system prompt to the first user message, as mistral-common v1', () => {
    const ids = mistral.encodeChat([
      { role: 'system', content: 'Be brief.' },
      { role: 'system', content: 'Be kind.' },
      { role: 'user', content: 'Q1' },
      { role: 'assistant', content: 'A1' },
      { role: 'user', content: 'Q2' },
    ]);
    expect(ids).toEqual([
      1,
      ...sp('[INST] Be brief.\n\nBe kind.\n\nQ1 [/INST]'),
      ...sp('A1'),
      2,
      ...sp('[INST] Q2 [/INST]'),
    ]);
    // A system message after a user turn still goes to the first user message; empty ones are dropped.
    const late = mistral.encodeChat([
      { role: 'user', content: 'Q1' },
      { role: 'system', content: 'S' },
      { role: 'system', content: '' },
    ]);
    expect(late).toEqual([1, ...sp('[INST] S\n\nQ1 [/INST]')]);
  });

  it('rejects bad role orders and unknown templates with typed errors', () => {
    expectRemaxError(
      () => mistral.encodeChat([{ role: 'assistant', content: 'x' }]),
      'E_INPUT',
      /messages\[0\]\.role/,
    );
    expectRemaxError(
      () =>
        mistral.encodeChat([
          { role: 'user', content: 'a' },
          { role: 'user', content: 'b' },
        ]),
      'E_INPUT',
      /alternate/,
    );
    expectRemaxError(
      () =>
        mistral.encodeChat([
          { role: 'user', content: 'a' },
          { role: 'assistant', content: 'b' },
          { role: 'system', content: 'c' },
        ]),
      'E_INPUT',
      /system/,
    );
    expectRemaxError(
      () => mistral.encodeChat([{ role: 'system', content: 's' }]),
      'E_INPUT',
      /user message/,
    );
    expectRemaxError(() => mistral.encodeChat([]), 'E_INPUT');
    expectRemaxError(
      () => mistral.encodeChat([{ role: 'tool' as 'user', content: 'x' }]),
      'E_INPUT',
    );
    expectRemaxError(
      () => mistral.encodeChat([{ role: 'user', content: 'x' }], 'llama-2' as 'mistral-v1'),
      'E_UNSUPPORTED',
    );
  });
});

describe('files', () => {
  it('fromDir prefers tokenizer.json and checks it agrees with tokenizer.model', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'remax-tok-'));
    copyFileSync(`${FIXTURES}mistral-v1.model`, join(dir, 'tokenizer.model'));
    copyFileSync(`${FIXTURES}mistral-v1-tokenizer.json`, join(dir, 'tokenizer.json'));
    copyFileSync(`${FIXTURES}mistral-v1-tokenizer_config.json`, join(dir, 'tokenizer_config.json'));
    const tok = await Tokenizer.fromDir(dir);
    expect(tok.format).toBe('tokenizer.json');
    expect(tok.encode('Hello world')).toEqual([22557, 1526]);
    const other = mkdtempSync(join(tmpdir(), 'remax-tok-'));
    copyFileSync(`${FIXTURES}llama.model`, join(other, 'tokenizer.model'));
    copyFileSync(`${FIXTURES}mistral-v1-tokenizer.json`, join(other, 'tokenizer.json'));
    await expect(Tokenizer.fromDir(other)).rejects.toThrow(/disagree/);
    await expect(Tokenizer.fromDir(tmpdir())).rejects.toThrow(/no tokenizer/);
  });

  it('names the file and feature of unsupported models', () => {
    const root = protobuf.parse(`syntax = "proto2"; package sentencepiece;
      message TrainerSpec { optional int32 model_type = 3; }
      message NormalizerSpec { optional string name = 1; optional bytes precompiled_charsmap = 2; }
      message SentencePiece { optional string piece = 1; optional float score = 2; optional int32 type = 3; }
      message ModelProto { repeated SentencePiece pieces = 1; optional TrainerSpec trainer_spec = 2; optional NormalizerSpec normalizer_spec = 3; }`).root;
    const M = root.lookupType('sentencepiece.ModelProto');
    const bytes = (modelType: number, charsmap: number[]): Uint8Array =>
      M.encode(
        M.fromObject({
          pieces: [
            { piece: '<unk>', score: 0, type: 2 },
            { piece: 'a', score: 0, type: 1 },
          ],
          trainerSpec: { modelType },
          normalizerSpec: { name: 'nmt_nfkc', precompiledCharsmap: charsmap },
        }),
      ).finish();
    expectRemaxError(
      () => Tokenizer.fromSentencePiece(bytes(1, []), { file: 'u.model' }),
      'E_UNSUPPORTED',
      /u\.model.*UNIGRAM/s,
    );
    expectRemaxError(
      () => Tokenizer.fromSentencePiece(bytes(2, [1, 2, 3, 4, 5])),
      'E_UNSUPPORTED',
      /precompiled_charsmap/,
    );
    const ok = Tokenizer.fromSentencePiece(bytes(2, []));
    // No byte fallback: a run of unknown characters becomes one <unk>, decoded as " ⁇ "
    // ("▁" is no piece in this model, so the dummy prefix is unknown too).
    expect(ok.encode('a日本a')).toEqual([0, 1, 0, 1]);
    expect(ok.decode([0, 1, 0, 1])).toBe(' \u2047 a \u2047 a');
    expect([ok.bosId, ok.eosId, ok.padId]).toEqual([-1, -1, 0]);
    expectRemaxError(
      () => Tokenizer.fromSentencePiece(new Uint8Array([0xff, 0xff, 0xff])),
      'E_FORMAT',
    );
  });

  it('rejects tokenizer.json features it does not implement', () => {
    const base = {
      model: { type: 'BPE', vocab: { '<unk>': 0, a: 1 }, merges: [] },
      decoder: { type: 'Metaspace', replacement: '▁' },
    };
    expectRemaxError(
      () => Tokenizer.fromTokenizerJson({ ...base, model: { type: 'Unigram', vocab: [] } }),
      'E_UNSUPPORTED',
      /model\.type/,
    );
    expectRemaxError(
      () => Tokenizer.fromTokenizerJson({ ...base, pre_tokenizer: { type: 'ByteLevel' } }),
      'E_UNSUPPORTED',
      /pre_tokenizer/,
    );
    expectRemaxError(
      () => Tokenizer.fromTokenizerJson({ ...base, normalizer: { type: 'NFKC' } }),
      'E_UNSUPPORTED',
      /normalizer/,
    );
    expectRemaxError(
      () => Tokenizer.fromTokenizerJson({ ...base, decoder: { type: 'ByteLevel' } }),
      'E_UNSUPPORTED',
      /decoder/,
    );
    expectRemaxError(
      () => Tokenizer.fromTokenizerJson({ ...base, model: { ...base.model, merges: ['a b'] } }),
      'E_FORMAT',
      /merges\[0\]/,
    );
  });

  it('reads tokenizer_config.json beside tokenizer.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'remax-tok-'));
    copyFileSync(`${FIXTURES}llama-tokenizer.json`, join(dir, 'tokenizer.json'));
    writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ pad_token: '<unk>' }));
    return Tokenizer.fromFile(join(dir, 'tokenizer.json')).then((t) => {
      expect(t.padId).toBe(0);
      expect(t.bosId).toBe(1);
    });
  });
});

describe('tokenizer.json spellings', () => {
  it('a Metaspace(prepend_scheme first, split false) tokenizer.json encodes like Prepend+Replace', async () => {
    const { readFileSync } = await import('node:fs');
    const json = JSON.parse(readFileSync(`${FIXTURES}llama-tokenizer.json`, 'utf8'));
    const legacy = Tokenizer.fromTokenizerJson(json);
    const metaspace = Tokenizer.fromTokenizerJson({
      ...json,
      normalizer: null,
      pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false },
      decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false },
      model: { ...json.model, merges: json.model.merges.map((m: string) => m.split(' ')) },
    });
    for (const text of ['Hello world', '  two  spaces ', '\n<s> x', '日本語 🙂', '']) {
      expect(metaspace.encode(text)).toEqual(legacy.encode(text));
    }
    expectRemaxError(
      () =>
        Tokenizer.fromTokenizerJson({
          ...json,
          normalizer: null,
          pre_tokenizer: {
            type: 'Metaspace',
            replacement: '▁',
            prepend_scheme: 'always',
            split: true,
          },
        }),
      'E_UNSUPPORTED',
      /pre_tokenizer/,
    );
  });
});
