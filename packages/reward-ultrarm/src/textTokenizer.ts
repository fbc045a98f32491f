/**
 * The part of a tokenizer this package uses (structural, so
 * `@remax/tokenizer`'s Tokenizer fits it, and so does any exact tokenizer).
 */
export interface TextTokenizer {
  encode(text: string, options?: { addBos?: boolean; addEos?: boolean }): number[];
  decode(ids: readonly number[], options?: { skipSpecialTokens?: boolean }): string;
  readonly bosId: number;
  readonly eosId: number;
}
