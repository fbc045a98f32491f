import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Rng } from '@remax/core';

const CASES = fileURLToPath(new URL('../../../fixtures/tokenizers/cases/', import.meta.url));

const ENGLISH = (
  'the of and to in is that it for was on are as with his they at be this from have or by one had not ' +
  'but what all were when we there can an your which their said if do will each about how up out them ' +
  'then she many some so these would other into has more her two like him see time could no make than ' +
  'first been its who now people my made over did down only way find use may water long little very after ' +
  'words called just where most know get through back much before go good new write our used me man too ' +
  'any day same right look think also around another came come work three word must because does part ' +
  'reward policy model training baseline gradient variance greedy sampling tokenizer alignment language'
).split(' ');

const CODE_LINES = [
  'export function {f}({a}: number[], {b}: string): Promise<void> {',
  '  const {a} = await {f}({b}, { maxLength: {n}, padding: "left" });',
  '  for (let i = 0; i < {a}.length; i++) {b}[i] += {a}[i] * {n};',
  '  if ({a} === undefined) throw new Error(`missing {b} at $' + '{i}`);',
  'def {f}(self, {a}, {b}={n}):\n    return torch.softmax({a} @ {b}.T / {n}, dim=-1)',
  '  return {a}.map(({b}) => {b}.id).filter(Boolean); // {f}',
  '#include <vector>\nint {f}(std::vector<int>& {a}) { return {a}[{n}]; }',
  '}',
];
const IDENTS = [
  'logits',
  'inputIds',
  'attentionMask',
  'reward',
  'kl',
  'tokens',
  'batch',
  'x',
  'values',
  'advantages',
];

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.nextInt(xs.length)]!;

function englishParagraph(rng: Rng): string {
  const sentences: string[] = [];
  const n = 2 + rng.nextInt(5);
  for (let s = 0; s < n; s++) {
    const words = Array.from({ length: 6 + rng.nextInt(14) }, () => pick(rng, ENGLISH));
    const first = words[0]!;
    words[0] = first[0]!.toUpperCase() + first.slice(1);
    if (rng.nextInt(4) === 0) words.splice(rng.nextInt(words.length), 0, `${rng.nextInt(2025)},`);
    sentences.push(`${words.join(' ')}${pick(rng, ['.', '.', '.', '?', '!'])}`);
  }
  return sentences.join(' ');
}

function codeBlock(rng: Rng): string {
  const lines = Array.from({ length: 3 + rng.nextInt(8) }, () =>
    pick(rng, CODE_LINES)
      .replaceAll('{f}', pick(rng, ['encodeBatch', 'generate', 'score', 'step', 'loss']))
      .replaceAll('{a}', pick(rng, IDENTS))
      .replaceAll('{b}', pick(rng, IDENTS))
      .replaceAll('{n}', String(rng.nextInt(4096))),
  );
  return lines.join('\n');
}

function cjkParagraph(rng: Rng): string {
  let s = '';
  const n = 30 + rng.nextInt(120);
  for (let i = 0; i < n; i++) {
    // Mostly common characters (lower range), some rare ones that need byte fallback.
    const cp = rng.nextInt(10) < 8 ? 0x4e00 + rng.nextInt(0x1000) : 0x4e00 + rng.nextInt(0x51a5);
    s += String.fromCodePoint(cp);
    if (rng.nextInt(12) === 0) s += pick(rng, ['，', '。', '、', '！', '？']);
  }
  return s;
}

function emojiText(rng: Rng): string {
  const parts: string[] = [];
  for (let i = 0; i < 10 + rng.nextInt(20); i++) {
    parts.push(
      rng.nextInt(3) === 0
        ? String.fromCodePoint(0x1f300 + rng.nextInt(0x250))
        : pick(rng, ENGLISH),
    );
  }
  return parts.join(' ');
}

/**
 * A deterministic ~`targetBytes` mixed corpus (UTF-8 size): the golden fixture texts
 * plus generated English, code, CJK and emoji text, as one array of texts.
 */
export function buildCorpus(targetBytes = 2_000_000, seed = 2026): string[] {
  const texts: string[] = [];
  for (const file of ['mistral-v1.jsonl', 'llama.jsonl']) {
    for (const line of readFileSync(CASES + file, 'utf8').split('\n')) {
      if (line.trim() !== '') texts.push((JSON.parse(line) as { text: string }).text);
    }
  }
  const encoder = new TextEncoder();
  let bytes = texts.reduce((n, t) => n + encoder.encode(t).length, 0);
  const rng = Rng.fromSeed(seed);
  const makers = [
    englishParagraph,
    englishParagraph,
    englishParagraph,
    codeBlock,
    codeBlock,
    cjkParagraph,
    emojiText,
  ];
  while (bytes < targetBytes) {
    const text = pick(rng, makers)(rng);
    texts.push(text);
    bytes += encoder.encode(text).length;
  }
  return texts;
}
