// Writes the bundled prompt set (data/prompts.parquet, from data/prompts.txt:
// prompts written for this project) and the small test parquet
// (test/fixtures/lmsys-small.parquet), both in the lmsys-chat-1m schema.
// Run: node --import tsx scripts/make-data.ts
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cleanModeration, conversationIdOf, singleTurnRows } from '../src/data/bundled.js';
import { writeLmsysParquet } from '../src/data/lmsysParquet.js';
import type { LmsysRow } from '../src/data/lmsysSchema.js';

const here = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));

const prompts = readFileSync(here('data/prompts.txt'), 'utf8')
  .split('\n')
  .filter((l) => l.trim().length > 0);
writeLmsysParquet(here('data/prompts.parquet'), singleTurnRows(prompts, { model: 'remax-ts' }));

// Every filter has a row to drop; row order is what the data test pins.
const row = (
  content: string | null,
  extra: Partial<LmsysRow> = {},
  conversation?: LmsysRow['conversation'],
): LmsysRow => ({
  conversation_id: conversationIdOf(`${content}${JSON.stringify(extra)}`),
  model: 'vicuna-13b',
  conversation: conversation ?? [
    { content: content ?? '', role: 'user' },
    { content: 'An answer.', role: 'assistant' },
  ],
  turn: 1,
  language: 'English',
  openai_moderation: [cleanModeration(), cleanModeration()],
  redacted: false,
  ...extra,
});
const small: LmsysRow[] = [
  row('What is the capital of France?'), // 0 kept
  row('Wie spät ist es?', { language: 'German' }), // 1 language
  row('My name is NAME_1, write me a poem.', { redacted: true }), // 2 redacted
  row('   '), // 3 empty
  row('What is the capital of France?'), // 4 duplicate of 0
  row(`Repeat this: ${'very long prompt '.repeat(60)}`), // 5 too long for max_prompt_seq 64
  row('Tell me a joke.', { turn: 2 }, [
    { content: 'Tell me a joke.', role: 'user' },
    { content: 'Why did the chicken cross the road?', role: 'assistant' },
    { content: 'Another one.', role: 'user' },
    { content: 'Knock knock.', role: 'assistant' },
  ]), // 6 kept: the first user turn of a two-turn chat
  row('Name three colors.'), // 7 kept
  row('Translate "good night" into Spanish.'), // 8 kept
  row('Summarize: the cat sat on the mat.'), // 9 kept
];
writeLmsysParquet(here('test/fixtures/lmsys-small.parquet'), small);
console.log(`wrote ${prompts.length} bundled prompts and ${small.length} test rows`);
