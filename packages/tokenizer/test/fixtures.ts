import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ChatMessage } from '../src/index.js';

/** The repository's golden tokenizer fixtures (copied from the shared fixture set, tokenizers/). */
export const FIXTURES = fileURLToPath(new URL('../../../fixtures/tokenizers/', import.meta.url));

export interface TextCase {
  text: string;
  ids: number[];
  pieces: string[];
  decoded: string;
}

export interface ChatCase {
  messages: ChatMessage[];
  ids: number[];
}

export function readJsonl<T>(name: string): T[] {
  return readFileSync(`${FIXTURES}cases/${name}`, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}
