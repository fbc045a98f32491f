import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isRemaxError } from '@remax/core';
import { describe, expect, it } from 'vitest';
import type { FiltersConfig } from '../src/config/schema.js';
import { readLmsysParquet } from '../src/data/lmsysParquet.js';
import { firstUserTurn, readPromptSource, selectPrompts, toJsonl } from '../src/data/prepare.js';

const smallParquet = fileURLToPath(new URL('./fixtures/lmsys-small.parquet', import.meta.url));
const bundled = fileURLToPath(new URL('../data/prompts.parquet', import.meta.url));
const filters: FiltersConfig = {
  languages: ['English'],
  drop_redacted: true,
  drop_empty: true,
  drop_duplicates: true,
  min_chars: 1,
};
// A stand-in length (words + 6 template tokens): the selection logic is what is tested here;
// the train test measures lengths with the real Mistral tokenizer.
const wordLength = (p: string) => p.split(/\s+/).filter(Boolean).length + 6;

describe('prepare-data', () => {
  it('reads the lmsys schema back with the nested conversation column', async () => {
    const rows = await readLmsysParquet(smallParquet);
    expect(rows).toHaveLength(10);
    expect(rows[6]?.['conversation']).toHaveLength(4);
    expect(rows[1]?.['language']).toBe('German');
    expect(rows[2]?.['redacted']).toBe(true);
  });

  it('takes the first user turn', () => {
    expect(
      firstUserTurn([
        { role: 'assistant', content: 'hi' },
        { role: 'user', content: 'first' },
        { role: 'user', content: 'second' },
      ]),
    ).toBe('first');
    expect(firstUserTurn([])).toBeNull();
  });

  it('filters language, redacted, empty, duplicates and length, with provenance', async () => {
    const candidates = await readPromptSource(smallParquet);
    const { prompts, stats } = selectPrompts(candidates, {
      filters,
      promptLength: wordLength,
      maxPromptSeq: 64,
      seed: 7,
      count: 100,
    });
    expect(stats).toEqual({
      read: 10,
      dropped: { language: 1, redacted: 1, empty: 1, too_short: 0, duplicate: 1, too_long: 1 },
      kept: 5,
    });
    const rows = prompts.map((p) => p.source.row).sort((a, b) => a - b);
    expect(rows).toEqual([0, 6, 7, 8, 9]);
    const joke = prompts.find((p) => p.source.row === 6);
    expect(joke?.prompt).toBe('Tell me a joke.');
    expect(joke?.source.file).toBe('lmsys-small.parquet');
    expect(joke?.source.conversation_id).toMatch(/^[0-9a-f]{32}$/);
  });

  it('shuffles with the seed and takes N', async () => {
    const candidates = await readPromptSource(smallParquet);
    const pick = (seed: number, count: number) =>
      selectPrompts(candidates, {
        filters,
        promptLength: wordLength,
        maxPromptSeq: 64,
        seed,
        count,
      }).prompts.map((p) => p.source.row);
    expect(pick(7, 3)).toEqual(pick(7, 3));
    expect(pick(7, 3)).toHaveLength(3);
    expect(pick(7, 5)).not.toEqual(pick(8, 5));
    expect(pick(7, 5).slice(0, 3)).toEqual(pick(7, 3));
  });

  it('keeps everything when the filters are off', async () => {
    const candidates = await readPromptSource(smallParquet);
    const { stats } = selectPrompts(candidates, {
      filters: {
        languages: [],
        drop_redacted: false,
        drop_empty: false,
        drop_duplicates: false,
        min_chars: 0,
      },
      promptLength: () => 1,
      maxPromptSeq: 64,
      seed: 1,
      count: 100,
    });
    expect(stats.kept).toBe(10);
  });

  it('round-trips through a prepared JSONL, keeping the original provenance', async () => {
    const candidates = await readPromptSource(smallParquet);
    const { prompts } = selectPrompts(candidates, {
      filters,
      promptLength: wordLength,
      maxPromptSeq: 64,
      seed: 7,
      count: 100,
    });
    const dir = mkdtempSync(join(tmpdir(), 'remax-data-'));
    writeFileSync(join(dir, 'prompts.jsonl'), toJsonl(prompts));
    const again = await readPromptSource(join(dir, 'prompts.jsonl'));
    expect(again.map((c) => ({ prompt: c.prompt, source: c.source }))).toEqual(prompts);
  });

  it('reads lmsys rows from JSONL and rejects rows it cannot understand', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'remax-data-'));
    const file = join(dir, 'chat.jsonl');
    writeFileSync(
      file,
      `${JSON.stringify({ conversation: [{ role: 'user', content: 'Hi there' }], language: 'English', redacted: false })}\n`,
    );
    expect((await readPromptSource(file))[0]?.prompt).toBe('Hi there');
    writeFileSync(file, '{"text": "no prompt here"}\n');
    await expect(readPromptSource(file)).rejects.toSatisfy((e) => isRemaxError(e, 'E_FORMAT'));
  });

  it('ships ~200 distinct English prompts in the lmsys schema', async () => {
    const candidates = await readPromptSource(bundled);
    expect(candidates.length).toBeGreaterThanOrEqual(190);
    expect(new Set(candidates.map((c) => c.prompt)).size).toBe(candidates.length);
    expect(candidates.every((c) => c.language === 'English' && !c.redacted)).toBe(true);
  });
});
