// Rollout through `serve` (HTTP on 127.0.0.1, vLLM's protocol, the batching
// queue) vs the same rollout in-process: ReMax's shape (B sampled + B greedy
// rows), alternating runs, medians.
import { fileURLToPath } from 'node:url';
import { type Rollout, tf } from '@remax/core';
import type { CausalLM } from '@remax/model-mistral';
import { Tokenizer } from '@remax/tokenizer';
import {
  openAIRolloutGenerator,
  rolloutGenerator,
  servedCausalLM,
  startServer,
} from '../src/index.js';

const TOKENIZER = fileURLToPath(
  new URL('../../../fixtures/models/tiny-mistral/tokenizer.model', import.meta.url),
);

export async function serveOverhead(
  model: CausalLM,
  ids: number[][],
  newTokens: number,
  reps: number,
): Promise<Record<string, unknown>> {
  const tokenizer = await Tokenizer.fromFile(TOKENIZER);
  const server = await startServer({
    model: servedCausalLM('bench', 'bench', model, tokenizer),
    port: 0,
  });
  const settings = {
    maxNewTokens: newTokens,
    temperature: 0.7,
    topP: 0.9,
    eosTokenId: tokenizer.eosId,
    returnLogprobs: true,
  };
  const local = rolloutGenerator(model, settings);
  const remote = openAIRolloutGenerator({ baseURL: `${server.url}/v1`, model: 'bench' }, settings);
  const prompts = {
    inputIds: tf.tensor2d(ids, undefined, 'int32'),
    attentionMask: tf.tensor2d(
      ids.map((r) => r.map(() => 1)),
      undefined,
      'int32',
    ),
  };
  const time = async (g: typeof local, seed: number) => {
    const t0 = performance.now();
    const r: Rollout = await g(prompts, { samplesPerPrompt: 1, greedy: true, seed });
    const ms = performance.now() - t0;
    const tokens = [r.sampled, r.greedy].reduce(
      (s, x) => s + (x?.responseLengths ?? []).reduce((a, b) => a + b, 0),
      0,
    );
    for (const x of [r.sampled, r.greedy])
      if (x) tf.dispose([x.inputIds, x.attentionMask, ...(x.logprobs ? [x.logprobs] : [])]);
    return { ms, tokens };
  };
  try {
    // warm-up (kernels, weight packing, connections) on a short decode
    const short = { ...settings, maxNewTokens: 4 };
    await time(rolloutGenerator(model, short), 0);
    await time(openAIRolloutGenerator({ baseURL: `${server.url}/v1`, model: 'bench' }, short), 0);
    const localMs: number[] = [];
    const serveMs: number[] = [];
    let sameTokens = true;
    for (let i = 1; i <= reps; i++) {
      const a = await time(local, i);
      const b = await time(remote, i);
      localMs.push(a.ms);
      serveMs.push(b.ms);
      sameTokens &&= a.tokens === b.tokens;
    }
    const median = (xs: number[]) =>
      [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;
    return {
      bench: 'rollout.serve_vs_in_process',
      rows: `${ids.length} sampled + ${ids.length} greedy`,
      prompt: ids[0]?.length,
      newTokens,
      reps,
      inProcessMs: Math.round(median(localMs)),
      serveMs: Math.round(median(serveMs)),
      overhead: +(median(serveMs) / median(localMs) - 1).toFixed(4),
      inProcessAllMs: localMs.map(Math.round),
      serveAllMs: serveMs.map(Math.round),
      batchSizes: server.batchSizes.slice(-reps),
      sameTokenCounts: sameTokens,
    };
  } finally {
    tf.dispose([prompts.inputIds, prompts.attentionMask]);
    await server.close();
  }
}
