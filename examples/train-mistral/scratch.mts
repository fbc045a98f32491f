import { initBackend, tf } from '@remax/core';
import { loadCausalLM } from '@remax/model-mistral';
import { loadRewardModel, makeRewardFn } from '@remax/reward-ultrarm';
import { Tokenizer } from '@remax/tokenizer';
import { loadRunConfig } from './src/config/load.ts';
import { readPromptSource } from './src/data/prepare.ts';
import { makeGenerateFn } from './src/run/generateFn.ts';
import { promptBatch } from './src/run/prompts.ts';

console.log(await initBackend());
const { config } = loadRunConfig('configs/tiny.yaml');
let t = performance.now();
const policy = await loadCausalLM(config.policy.path);
const tok = await Tokenizer.fromDir(config.policy.path);
const rm = await loadRewardModel(config.reward.path);
console.log('load s', (performance.now() - t) / 1000);
const prompts = (await readPromptSource(config.data.source)).slice(0, 8).map((p) => p.prompt);
const stats = { lastTokens: 0, lastSeconds: 0 };
const gen = makeGenerateFn(policy, config, tok.eosId, stats);
let texts: string[] = [];
const reward = makeRewardFn(rm, tok, (s) => {
  texts = s.texts;
});
for (let i = 0; i < 3; i++) {
  const batch = promptBatch(tok, prompts);
  t = performance.now();
  const r = await gen(batch, { samplesPerPrompt: 1, greedy: true, seed: i });
  const g = (performance.now() - t) / 1000;
  t = performance.now();
  const rs = await reward(r.sampled);
  const rg = await reward(r.greedy!);
  console.log(
    'gen s',
    g,
    'tokens',
    stats.lastTokens,
    'reward s',
    (performance.now() - t) / 1000,
    Array.from(rs)
      .map((x) => x.toFixed(3))
      .join(' '),
    '|',
    Array.from(rg)
      .slice(0, 3)
      .map((x) => x.toFixed(3))
      .join(' '),
  );
  console.log(JSON.stringify(texts[0]));
  tf.dispose([
    batch.inputIds,
    batch.attentionMask,
    r.sampled.inputIds,
    r.sampled.attentionMask,
    r.greedy!.inputIds,
    r.greedy!.attentionMask,
  ]);
  if (r.sampled.logprobs) r.sampled.logprobs.dispose();
  if (r.greedy?.logprobs) r.greedy.logprobs.dispose();
  console.log('tensors', tf.memory().numTensors);
}
