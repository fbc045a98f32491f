/** UTF-8 helpers with the exact rules of SentencePiece's util.cc. */

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Replaces every lone surrogate with U+FFFD, as TextEncoder does when it turns a JS
 * string into UTF-8 (SentencePiece only ever sees valid UTF-8).
 */
export function toWellFormed(text: string): string {
  return hasNativeWellFormed
    ? (text as unknown as WellFormedString).toWellFormed()
    : replaceLoneSurrogates(text);
}

/** The portable form of `toWellFormed` (for runtimes without the ES2024 method). */
export function replaceLoneSurrogates(text: string): string {
  LONE_SURROGATE.lastIndex = 0;
  return LONE_SURROGATE.test(text) ? text.replace(LONE_SURROGATE, '\uFFFD') : text;
}

/** ES2024 String methods (Node 20 has them; the TS lib we target does not declare them). */
interface WellFormedString {
  toWellFormed(): string;
}
const hasNativeWellFormed =
  typeof (String.prototype as Partial<WellFormedString>).toWellFormed === 'function';

/** Appends the UTF-8 bytes of code point `cp` to `out`. */
export function pushUtf8(cp: number, out: number[]): void {
  if (cp < 0x80) out.push(cp);
  else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
  else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  else
    out.push(
      0xf0 | (cp >> 18),
      0x80 | ((cp >> 12) & 0x3f),
      0x80 | ((cp >> 6) & 0x3f),
      0x80 | (cp & 0x3f),
    );
}

/** UTF-8 bytes of a string (well-formed input assumed). */
export function utf8Of(text: string): number[] {
  const out: number[] = [];
  for (const ch of text) pushUtf8(ch.codePointAt(0)!, out);
  return out;
}

const isTrail = (b: number | undefined): boolean => b !== undefined && (b & 0xc0) === 0x80;
const isValidCodepoint = (c: number): boolean => c < 0xd800 || (c >= 0xe000 && c <= 0x10ffff);

/**
 * Decodes one character at `bytes[i]` like SentencePiece's DecodeUTF8: returns the
 * code point and its length, or -1 with length 1 for a structurally invalid byte.
 */
export function decodeUtf8At(bytes: ArrayLike<number>, i: number, end: number): [number, number] {
  const b0 = bytes[i]!;
  const len = end - i;
  if (b0 < 0x80) return [b0, 1];
  if (len >= 2 && (b0 & 0xe0) === 0xc0) {
    const cp = ((b0 & 0x1f) << 6) | (bytes[i + 1]! & 0x3f);
    if (isTrail(bytes[i + 1]) && cp >= 0x80 && isValidCodepoint(cp)) return [cp, 2];
  } else if (len >= 3 && (b0 & 0xf0) === 0xe0) {
    const cp = ((b0 & 0x0f) << 12) | ((bytes[i + 1]! & 0x3f) << 6) | (bytes[i + 2]! & 0x3f);
    if (isTrail(bytes[i + 1]) && isTrail(bytes[i + 2]) && cp >= 0x800 && isValidCodepoint(cp))
      return [cp, 3];
  } else if (len >= 4 && (b0 & 0xf8) === 0xf0) {
    const cp =
      ((b0 & 0x07) << 18) |
      ((bytes[i + 1]! & 0x3f) << 12) |
      ((bytes[i + 2]! & 0x3f) << 6) |
      (bytes[i + 3]! & 0x3f);
    if (
      isTrail(bytes[i + 1]) &&
      isTrail(bytes[i + 2]) &&
      isTrail(bytes[i + 3]) &&
      cp >= 0x10000 &&
      isValidCodepoint(cp)
    )
      return [cp, 4];
  }
  return [-1, 1];
}

/**
 * Decodes a run of byte-fallback bytes as SentencePiece's Decode does: each valid
 * character as itself, each structurally invalid byte as one U+FFFD.
 */
export function decodeByteRun(bytes: ArrayLike<number>, start: number, end: number): string {
  let s = '';
  let i = start;
  while (i < end) {
    const [cp, n] = decodeUtf8At(bytes, i, end);
    s += cp < 0 ? '\uFFFD' : String.fromCodePoint(cp);
    i += n;
  }
  return s;
}

/**
 * Length of the trailing bytes of `bytes[start..end)` that could still become a
 * valid character if more bytes arrived (a lead byte followed by fewer trail bytes
 * than it needs); 0 when the run ends on a character boundary. The streaming decoder
 * holds these back instead of emitting U+FFFD early.
 */
export function pendingSuffixLength(bytes: ArrayLike<number>, start: number, end: number): number {
  for (let back = 1; back <= 3 && end - back >= start; back++) {
    const b = bytes[end - back]!;
    if ((b & 0xc0) === 0x80) continue; // trail byte: keep looking for its lead
    const need = (b & 0xe0) === 0xc0 ? 2 : (b & 0xf0) === 0xe0 ? 3 : (b & 0xf8) === 0xf0 ? 4 : 1;
    return need > back ? back : 0;
  }
  return 0;
}
