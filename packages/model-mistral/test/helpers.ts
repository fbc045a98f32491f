import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tf } from '@remax/core';

/** A shared fixture model (fixtures/models/<name>), or an unseen one (fixtures/unseen/unseen-*). */
export const fixtureDir = (name: string): string =>
  fileURLToPath(
    new URL(
      `../../../fixtures/${name.startsWith('unseen-') ? 'unseen' : 'models'}/${name}`,
      import.meta.url,
    ),
  );

export interface GoldenCase {
  name: string;
  input_ids: number[][];
  attention_mask: number[][];
  logits_first: number;
  logits: number[][][];
  logsumexp: number[][];
  argmax: number[][];
  next_token_logprob: number[][];
}
export interface GoldenGreedy {
  prompt_ids: number[];
  new_tokens: number[];
  top2_margins: number[];
}
export interface Golden {
  cases: GoldenCase[];
  greedy: GoldenGreedy[];
}

export function readGolden(name: string): Golden {
  return JSON.parse(readFileSync(`${fixtureDir(name)}/golden.json`, 'utf8')) as Golden;
}

export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);
}
