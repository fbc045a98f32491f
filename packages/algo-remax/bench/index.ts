// One ReMax step at the "small" shape (issue 8's evidence): policy, reference
// and reward model of 19.3M parameters (vocab 32000, hidden 256, 4 layers),
// batch 8, 64 prompt + 64 response tokens, wasm backend. Prints JSON lines:
// seconds per phase, tokens/s, peak tensor bytes and process peak RSS.
// Usage: pnpm bench [--steps N]   (the first step is a warm-up and is reported too)
import { initBackend, type RewardFn, Rng, tf } from '@remax/core';
import { type CausalLM, createCausalLM, SMALL_MISTRAL_CONFIG } from '@remax/model-mistral';
import { headAtPositions, lastRealIndex } from '@remax/reward-ultrarm';
import { rolloutGenerator } from '@remax/rollout';
import { ReMax } from '../src/index.js';

const SMALL = SMALL_MISTRAL_CONFIG;
const B = 8;
const PROMPT = 64;
const NEW = 64;
const stepsArg = process.argv.indexOf('--steps');
const STEPS = stepsArg > 0 ? Number(process.argv[stepsArg + 1]) : 2;

const backend = await initBackend();
const policy = createCausalLM(SMALL, { rng: Rng.fromSeed(1) });
const reference = createCausalLM(SMALL, { rng: Rng.fromSeed(1) });
const rewardBackbone: CausalLM = createCausalLM(
  { ...SMALL, model_type: 'llama' },
  { rng: Rng.fromSeed(2), withLMHead: false },
);
const rewardHead = tf.randomNormal([1, SMALL.hidden_size], 0, 0.02, 'float32', 3) as tf.Tensor2D;

/** UltraRM's scoring at the small shape: the head at the last real position (same ids: cost, not meaning). */
const reward: RewardFn = async (batch) => {
  const last = lastRealIndex((await batch.attentionMask.array()) as number[][]);
  const scores = tf.tidy(() =>
    headAtPositions(rewardBackbone.hiddenStates(batch), last, rewardHead),
  );
  try {
    return (await scores.data()) as Float32Array;
  } finally {
    scores.dispose();
  }
};

const algo = new ReMax(
  { klPenalty: 'full_step', klCtl: 0.1, rewardClip: 1, lr: 5e-7, microBatchSize: 4 },
  {
    policy,
    reference,
    reward,
    rng: Rng.fromSeed(7),
    generate: rolloutGenerator(policy, {
      maxNewTokens: NEW,
      temperature: 0.7,
      topP: 0.9,
      eosTokenId: [], // always NEW tokens: the anchor's shape
      returnLogprobs: true,
    }),
  },
);

const rng = Rng.fromSeed(11);
const ids = Array.from({ length: B }, () => [
  1,
  ...Array.from({ length: PROMPT - 1 }, () => 3 + rng.nextInt(31990)),
]);
const inputIds = tf.tensor2d(ids, undefined, 'int32');
const attentionMask = tf.ones([B, PROMPT], 'int32') as tf.Tensor2D;

for (let step = 0; step < STEPS; step++) {
  const t0 = performance.now();
  const experience = await algo.makeExperience({ inputIds, attentionMask });
  const m = await algo.trainStep(experience);
  experience.dispose();
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    JSON.stringify({
      bench: 'remax_step',
      backend,
      warmup: step === 0,
      batch: B,
      prompt_tokens: PROMPT,
      new_tokens: NEW,
      step_s: seconds,
      rollout_s: m['time/rollout_s'],
      reward_s: m['time/reward_s'],
      score_s: m['time/score_s'],
      train_s: m['time/train_s'],
      update_s: m['time/update_s'],
      rollout_tokens_per_s: m['throughput/rollout_tokens_per_s'],
      peak_tensor_bytes: m['memory/peak_tensor_bytes'],
      experience_peak_tensor_bytes: m['memory/experience_peak_tensor_bytes'],
      max_rss_bytes: m['memory/max_rss_bytes'],
      kl_full: m['kl/full'],
      grad_norm: m['optim/grad_norm'],
    }),
  );
}
algo.dispose();
tf.dispose([inputIds, attentionMask, rewardHead]);
policy.dispose();
reference.dispose();
rewardBackbone.dispose();
