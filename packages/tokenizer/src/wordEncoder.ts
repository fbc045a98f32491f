/** A BPE core: appends the ids of one normalized word (or whole text) to `out`. */
export interface WordEncoder {
  encodeWord(word: string, out: number[]): void;
}
