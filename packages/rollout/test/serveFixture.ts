// Serves a fixture checkpoint with `startServer` on 127.0.0.1 (port 0) for tests and the bench.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type CausalLM, loadCausalLM } from '@remax/model-mistral';
import { Tokenizer } from '@remax/tokenizer';
import {
  type RunningServer,
  type ServeOptions,
  servedCausalLM,
  startServer,
} from '../src/index.js';

export const fixtureDir = (name: string) =>
  fileURLToPath(new URL(`../../../fixtures/models/${name}`, import.meta.url));

export interface GreedyCase {
  prompt_ids: number[];
  new_tokens: number[];
  top2_margins: number[];
}

export function goldenGreedy(name: string): GreedyCase[] {
  return (
    JSON.parse(readFileSync(`${fixtureDir(name)}/golden.json`, 'utf8')) as { greedy: GreedyCase[] }
  ).greedy;
}

export async function serveFixture(
  name: string,
  model: CausalLM,
  options: Partial<ServeOptions> = {},
): Promise<RunningServer> {
  const tokenizer = await Tokenizer.fromDir(fixtureDir(name));
  return startServer({
    model: servedCausalLM(name, fixtureDir(name), model, tokenizer),
    port: 0,
    ...options,
  });
}

export { loadCausalLM };

/** Left-pads rows to one width (pad id 0, mask 0). */
export function leftPad(rows: number[][]): { inputIds: number[][]; attentionMask: number[][] } {
  const P = Math.max(...rows.map((r) => r.length));
  return {
    inputIds: rows.map((r) => [...new Array<number>(P - r.length).fill(0), ...r]),
    attentionMask: rows.map((r) => [...new Array<number>(P - r.length).fill(0), ...r.map(() => 1)]),
  };
}
