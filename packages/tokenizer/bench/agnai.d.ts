// Minimal types for the untyped bench peer @agnai/sentencepiece-js.
declare module '@agnai/sentencepiece-js' {
  export class SentencePieceProcessor {
    load(path: string): Promise<void>;
    encodeIds(text: string): number[];
    decodeIds(ids: number[]): string;
  }
}
