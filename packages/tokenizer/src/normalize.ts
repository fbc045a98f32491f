import type { NormalizerSettings } from './tokenizerModel.js';
import { toWellFormed } from './utf8.js';

export const SPACE_SYMBOL = '\u2581';
export const SPACE_SYMBOL_CODE = 0x2581;

/**
 * SentencePiece's Normalizer::Normalize for identity normalization (no charsmap):
 * lone surrogates become U+FFFD (the UTF-8 the C++ library would be given), then
 * optional whitespace cleanup, the dummy prefix and whitespace escaping. Empty
 * text stays empty (no dummy prefix), as in the library.
 */
export function normalizeText(text: string, settings: NormalizerSettings): string {
  let t = toWellFormed(text);
  if (t.length === 0) return '';
  const space = settings.escapeWhitespaces ? SPACE_SYMBOL : ' ';
  if (settings.removeExtraWhitespaces) {
    t = t.replace(/^ +/, '');
    if (t.length === 0) return '';
    t = t.replace(/ {2,}/g, ' ');
  }
  if (settings.escapeWhitespaces) t = t.replaceAll(' ', SPACE_SYMBOL);
  let out = settings.addDummyPrefix ? space + t : t;
  if (settings.removeExtraWhitespaces) {
    let end = out.length;
    while (end > 0 && out[end - 1] === space) end--;
    out = out.slice(0, end);
  }
  return out;
}
