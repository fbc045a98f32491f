import type { Rng } from '@remax/core';

const WORDS = [
  'the',
  'Hello',
  'world',
  'tokenizer',
  'ReMax',
  'function',
  'return',
  'const',
  'x',
  'aaaa',
  'naïve',
  'café',
  'Straße',
  'über',
  'Ελληνικά',
  'русский',
  'العربية',
  'हिन्दी',
  '12345',
  '3.14',
  '<s>',
  '</s>',
  '<unk>',
  '[INST]',
  '[/INST]',
  '<0x0A>',
  '▁',
  '{',
  '}',
  '();',
  '=>',
  '#',
  '\\n',
];

/** A code point from a mix of scripts, including rare ones that need byte fallback. */
function randomCodePoint(rng: Rng): number {
  const r = rng.nextInt(10);
  if (r === 0) return 0x4e00 + rng.nextInt(0x9fff - 0x4e00); // CJK
  if (r === 1) return 0x1f300 + rng.nextInt(0x250); // emoji
  if (r === 2) return 0x10000 + rng.nextInt(0x10ffff - 0x10000); // any astral
  if (r === 3) return 0xac00 + rng.nextInt(0x2ba4); // Hangul
  if (r === 4) {
    const cp = rng.nextInt(0x10000); // any BMP, surrogates included on purpose
    return cp;
  }
  return 0x20 + rng.nextInt(0x5f); // printable ASCII
}

/**
 * A random JS string: words, whitespace runs (spaces, tabs, newlines), random
 * characters from many scripts, and sometimes lone surrogates.
 */
export function randomText(rng: Rng, maxParts = 12): string {
  const parts: string[] = [];
  const n = rng.nextInt(maxParts + 1);
  for (let i = 0; i < n; i++) {
    const r = rng.nextInt(8);
    if (r <= 2) parts.push(WORDS[rng.nextInt(WORDS.length)]!);
    else if (r === 3) parts.push(' '.repeat(1 + rng.nextInt(6)));
    else if (r === 4) parts.push(['\n', '\t', '\r\n', '\n\n', ' \n '][rng.nextInt(5)]!);
    else if (r === 5)
      parts.push(String.fromCharCode(0xd800 + rng.nextInt(0x800))); // lone surrogate half
    else {
      let s = '';
      const len = 1 + rng.nextInt(6);
      for (let k = 0; k < len; k++) {
        const cp = randomCodePoint(rng);
        s += cp >= 0xd800 && cp <= 0xdfff ? String.fromCharCode(cp) : String.fromCodePoint(cp);
      }
      parts.push(s);
    }
    if (rng.nextInt(3) === 0) parts.push(' ');
  }
  return parts.join('');
}
