// ReMax vs PPO memory and time per step (issue 8's evidence) and against the
// PyTorch anchor (issue 18): the same batch of 8 prompts (64 tokens) and 64 new
// tokens, "small" random policy, reference, reward model (and, for PPO,
// critic). Each algorithm runs in its own child process so the RSS peaks do
// not mix. Also ReMax with LoRA (r 16, all seven projections; the reference is
// the policy with its adapters off) against full fine-tuning, with the floor
// arithmetic. Step 1 warms kernels up (its peaks measured under tf.profile);
// `seconds` is the median of steps 2..N (REMAX_BENCH_STEPS, N >= 3, default 4),
// unprofiled, as the anchor's median; then one more step, profiled, gives the
// steady-state peak. Prints JSON lines; the last ones have the ratios.
// Run: pnpm bench (all), or `bench/index.ts remax` (ReMax alone, then the anchor).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { initBackend, Rng, tf } from '@remax/core';
import {
  adapterPolicy,
  adaptersDisabledPolicy,
  addLoRA,
  createCausalLM,
  SMALL_LLAMA_CONFIG,
  SMALL_MISTRAL_CONFIG,
} from '@remax/model-mistral';
import {
  makeRewardFn,
  tokenAlignedCritic,
  UltraRewardModel,
  UltraValueModel,
} from '@remax/reward-ultrarm';
import { padBatch, Tokenizer } from '@remax/tokenizer';
import { loadRunConfig } from '../src/config/load.js';
import { readPromptSource } from '../src/data/prepare.js';
import { createAlgorithm } from '../src/registry/lookup.js';
import { makeGenerateFn } from '../src/run/generateFn.js';
import { promptIds } from '../src/run/prompts.js';
import { type AnchorResult, anchorHint, findAnchor, median, runAnchor } from './anchor.js';

const POLICY = SMALL_MISTRAL_CONFIG;
// REMAX_BENCH_REWARD=card-ratio: a reward model (and so a PPO critic) 1.83x the policy's
// parameters, as UltraRM-13b (13.0B) is to Mistral-7B (7.24B): the regime of the paper's memory
// claim, where the critic is not smaller than the policy. The default is the small shape.
const CARD_RATIO_LLAMA_CONFIG = {
  ...SMALL_LLAMA_CONFIG,
  hidden_size: 512,
  intermediate_size: 1376,
  num_hidden_layers: 6,
  num_attention_heads: 8,
  num_key_value_heads: 8,
};
const REWARD_SHAPE = process.env['REMAX_BENCH_REWARD'] ?? 'small';
if (REWARD_SHAPE !== 'small' && REWARD_SHAPE !== 'card-ratio') {
  throw new Error(`REMAX_BENCH_REWARD=${REWARD_SHAPE}: expected 'small' or 'card-ratio'`);
}
const REWARD = REWARD_SHAPE === 'card-ratio' ? CARD_RATIO_LLAMA_CONFIG : SMALL_LLAMA_CONFIG;
const BATCH = 8;
const PROMPT = 64;
const NEW = 64;
const STEPS = Number(process.env['REMAX_BENCH_STEPS'] ?? 4);
if (!Number.isInteger(STEPS) || STEPS < 3) {
  throw new Error(`REMAX_BENCH_STEPS=${STEPS}: expected an integer >= 3 (step 1 is a warm-up)`);
}
const fixtures = fileURLToPath(new URL('../../../fixtures/', import.meta.url));

/** The LoRA variant of the bench: PEFT's usual RLHF setting, every projection adapted. */
const LORA = { r: 16, alpha: 32, targetModules: 'all-linear' as const };
type Variant = 'remax' | 'ppo' | 'remax-lora';

async function runOne(variant: Variant): Promise<StepLine> {
  const algo: 'remax' | 'ppo' = variant === 'ppo' ? 'ppo' : 'remax';
  const lora = variant === 'remax-lora';
  const backend = await initBackend();
  const { config } = loadRunConfig(
    fileURLToPath(new URL('../configs/tiny.yaml', import.meta.url)),
    {
      algo,
      set: [
        `data.max_answer_seq=${NEW}`,
        `train.batch_size=${BATCH}`,
        `train.micro_batch_size=${BATCH}`,
      ],
    },
  );
  const policyTok = await Tokenizer.fromFile(`${fixtures}models/tiny-mistral/tokenizer.model`);
  const rmTok = await Tokenizer.fromFile(`${fixtures}tokenizers/llama.model`);
  const policy = createCausalLM(POLICY, { rng: Rng.derive(1, 1) });
  const linearParameters = countParameters(
    [...policy.parameters()].filter(([n]) => /(proj|lm_head)\.weight$/.test(n)).map(([, v]) => v),
  );
  const policyParameters = countParameters(policy.parameters().values());
  // LoRA: no second model; the reference is the policy with its adapters off
  if (lora) addLoRA(policy, { ...LORA, seed: 3 });
  const reference = lora
    ? adaptersDisabledPolicy(policy)
    : createCausalLM(POLICY, { rng: Rng.derive(1, 1) });
  const rmBackbone = createCausalLM(REWARD, { rng: Rng.derive(1, 2), withLMHead: false });
  const head = () => tf.variable(tf.randomNormal([1, REWARD.hidden_size], 0, 0.02, 'float32', 3));
  const reward = new UltraRewardModel(
    rmBackbone,
    head(),
    rmTok,
    { dir: '', rawConfig: REWARD, vocabSize: 32000, padId: 0 },
    { maxLength: 4096, microBatchSize: BATCH },
  );
  const critic =
    algo === 'ppo'
      ? tokenAlignedCritic(
          new UltraValueModel(
            createCausalLM(REWARD, { rng: Rng.derive(1, 2), withLMHead: false }),
            head(),
            { dir: '', rawConfig: REWARD },
          ),
          { policy: policyTok, critic: rmTok },
          { maxLength: 4096 },
        )
      : undefined;
  // 8 bundled prompts, each grown to 64 chat-templated tokens
  const texts = (await readPromptSource(config.data.source)).slice(0, BATCH).map((p) => {
    let t = p.prompt;
    while (promptIds(policyTok, `${t} Please answer in detail.`).length <= PROMPT)
      t = `${t} Please answer in detail.`;
    return t;
  });
  const rows = texts.map((t) => promptIds(policyTok, t));
  const padded = padBatch(rows, { padId: policyTok.eosId, padding: 'left' });
  const genStats = { lastTokens: 0, lastSeconds: 0 };
  const algorithm = createAlgorithm(config, 1, {
    policy: lora ? adapterPolicy(policy) : policy,
    reference,
    generate: makeGenerateFn(policy, config, policyTok.eosId, genStats),
    reward: makeRewardFn(reward, policyTok),
    rng: Rng.fromSeed(7),
    ...(critic ? { critic } : {}),
  });
  const batch = {
    inputIds: tf.tensor2d(padded.inputIds, undefined, 'int32'),
    attentionMask: tf.tensor2d(padded.attentionMask, undefined, 'int32'),
  };
  // The model's forward calls inside the rollout (wasm runs synchronously in
  // forward), so the rest of the rollout is sampling and bookkeeping.
  let forwardMs = 0;
  const forward = policy.forward.bind(policy);
  policy.forward = (args) => {
    const f0 = performance.now();
    try {
      return forward(args);
    } finally {
      forwardMs += performance.now() - f0;
    }
  };
  let metrics: Record<string, number> = {};
  // step 1 (warm-up: kernels, weight packing) in two profiles: where the peak is
  // (experience = rollout + scoring, or the update). tf.profile returns the engine's one activeProfile object: read each peak at once.
  let exp: Awaited<ReturnType<typeof algorithm.makeExperience>> | undefined;
  const peakExperience = (
    await tf.profile(async () => {
      exp = await algorithm.makeExperience(batch);
    })
  ).peakBytes;
  let peakTrain = 0;
  try {
    peakTrain = (
      await tf.profile(async () => {
        metrics = {
          ...exp?.metrics,
          ...(await algorithm.trainStep(exp as NonNullable<typeof exp>)),
        };
      })
    ).peakBytes;
  } finally {
    exp?.dispose();
  }
  const prof = { peakBytes: Math.max(peakExperience, peakTrain) };
  // steps 2..N, timed and unprofiled
  const steps: Array<{
    seconds: number;
    cpu: number;
    forward: number;
    metrics: Record<string, number>;
  }> = [];
  for (let i = 1; i < STEPS; i++) {
    forwardMs = 0;
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const e = await algorithm.makeExperience(batch);
    let m: Record<string, number>;
    try {
      m = { ...e.metrics, ...(await algorithm.trainStep(e)) };
    } finally {
      e.dispose();
    }
    const c = process.cpuUsage(c0);
    steps.push({
      seconds: (performance.now() - t0) / 1000,
      cpu: (c.user + c.system) / 1e6,
      forward: forwardMs / 1000,
      metrics: m,
    });
  }
  // One more step, profiled whole: after the first step AdamW's moments exist during
  // the backward (the first step creates them in its update, after the backward's
  // transient is gone). Run for the ReMax variants: the LoRA comparison's regime.
  let peakSecondStep: number | null = null;
  if (algo === 'remax') {
    peakSecondStep = (
      await tf.profile(async () => {
        const e = await algorithm.makeExperience(batch);
        try {
          await algorithm.trainStep(e);
        } finally {
          e.dispose();
        }
      })
    ).peakBytes;
  }
  const phaseNames = Object.keys(steps[0]?.metrics ?? {}).filter((k) => k.startsWith('time/'));
  const phases = Object.fromEntries(
    phaseNames.map((k) => [k, median(steps.map((s) => s.metrics[k] as number))]),
  );
  const rolloutForward = median(steps.map((s) => s.forward));
  const line = {
    bench: 'rl-step',
    algo,
    variant,
    backend,
    batch: BATCH,
    prompt_tokens: padded.inputIds[0]?.length,
    new_tokens: NEW,
    seconds: median(steps.map((s) => s.seconds)),
    step_seconds: steps.map((s) => s.seconds),
    // CPU seconds of every thread: on a shared machine wall time also measures the neighbours
    cpu_seconds: median(steps.map((s) => s.cpu)),
    phases,
    rollout_forward_s: rolloutForward,
    rollout_outside_forward_share: 1 - rolloutForward / (phases['time/rollout_s'] ?? Number.NaN),
    peak_tensor_bytes: prof.peakBytes,
    peak_experience_bytes: peakExperience,
    peak_train_bytes: peakTrain,
    peak_second_step_bytes: peakSecondStep,
    // the first step's memory metrics (the steady state is peak_second_step_bytes)
    memory: Object.fromEntries(Object.entries(metrics).filter(([k]) => k.startsWith('memory/'))),
    max_rss_bytes: process.resourceUsage().maxRSS * 1024,
    resident_weights_bytes: tf.memory().numBytes,
    reward_shape: REWARD_SHAPE,
    policy_parameters: policyParameters,
    policy_linear_parameters: linearParameters,
    adapter_parameters: countParameters(policy.adapterParameters().values()),
    reward_parameters: countParameters(reward.parameters().values()),
  };
  console.log(JSON.stringify(line));
  return line;
}

function countParameters(tensors: Iterable<tf.Tensor>): number {
  let n = 0;
  for (const t of tensors) n += t.size;
  return n;
}

/** The fields of a `rl-step` line the comparisons read. */
interface StepLine {
  algo: 'remax' | 'ppo';
  phases: Record<string, number>;
  rollout_outside_forward_share: number;
  peak_tensor_bytes: number;
  peak_second_step_bytes: number | null;
  max_rss_bytes: number;
  seconds: number;
  policy_parameters: number;
  policy_linear_parameters: number;
  adapter_parameters: number;
}

/**
 * What LoRA can save at best, from full fine-tuning's steady-state peak (a step after
 * the first, AdamW's moments resident): the reference's weights and its transposed
 * compute copies of every linear, the full gradients and the two moments (all float32)
 * go; the adapters with their gradients and moments come in.
 */
function loraFloor(full: StepLine, lora: StepLine): Record<string, number> {
  const B = 4;
  const fullPeak = full.peak_second_step_bytes ?? full.peak_tensor_bytes;
  const referenceBytes = B * (full.policy_parameters + full.policy_linear_parameters);
  const gradientBytes = B * full.policy_parameters;
  const momentBytes = 2 * B * full.policy_parameters;
  const adapterBytes = 4 * B * lora.adapter_parameters;
  const floor = fullPeak - referenceBytes - gradientBytes - momentBytes + adapterBytes;
  return {
    reference_and_compute_copy_bytes: referenceBytes,
    full_gradient_bytes: gradientBytes,
    adamw_moment_bytes: momentBytes,
    adapter_state_bytes: adapterBytes,
    floor_peak_bytes: floor,
    floor_ratio: floor / fullPeak,
  };
}

/** One JSON line: our phases over the anchor's, measured in this session, with the goals. */
function compareWithAnchor(lines: StepLine[]): void {
  const found = findAnchor();
  if ('missing' in found) {
    console.log(JSON.stringify({ bench: 'vs-pytorch', skipped: anchorHint(found.missing) }));
    return;
  }
  const ratios: Record<string, unknown> = {};
  let torch = '';
  for (const line of lines) {
    let a: AnchorResult;
    try {
      a = runAnchor(found.script, line.algo, STEPS - 1);
    } catch (e) {
      // our lines are already out; say why the comparison is missing instead of failing the bench
      const reason = `the anchor failed (${found.script} ${line.algo}): ${(e as Error).message}`;
      console.log(JSON.stringify({ bench: 'vs-pytorch', skipped: reason }));
      return;
    }
    torch = a.torch;
    const ph = (k: string) => line.phases[`time/${k}_s`] ?? 0;
    const step = line.seconds / a.total;
    const trainUpdate = (ph('train') + ph('update')) / a.train;
    const scoring = (ph('reward') + ph('score')) / a.score;
    const outside = line.rollout_outside_forward_share;
    ratios[line.algo] = {
      anchor_median_s: a,
      step,
      rollout_vs_generate: ph('rollout') / a.generate,
      train_update_vs_train: trainUpdate,
      reward_score_vs_score: scoring,
      rollout_outside_forward_share: outside,
      update_s: ph('update'),
      meets_goals:
        line.algo === 'remax'
          ? {
              'step <= 0.8x': step <= 0.8,
              'train+update <= 2x': trainUpdate <= 2,
              'reward+score <= 1.2x': scoring <= 1.2,
              'rollout outside forward <= 25%': outside <= 0.25,
              'update <= 0.15 s': ph('update') <= 0.15,
            }
          : { 'step <= 1.0x': step <= 1 },
    };
  }
  console.log(JSON.stringify({ bench: 'vs-pytorch', torch, steps: STEPS - 1, ...ratios }));
}

const which = process.argv[2];
if (which === 'remax' || which === 'ppo' || which === 'remax-lora') {
  const line = await runOne(which);
  // the default mode compares ReMax and PPO with the anchor once, after its children
  const anchored = which !== 'remax-lora' && REWARD_SHAPE === 'small';
  if (process.argv[3] !== '--no-anchor' && anchored) compareWithAnchor([line]);
} else {
  const out: Record<string, StepLine> = {};
  for (const algo of ['remax', 'ppo', 'remax-lora'] as const) {
    const line = execFileSync(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), algo, '--no-anchor'],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
      .trim()
      .split('\n')
      .find((l) => l.includes('"rl-step"')) as string;
    console.log(line);
    out[algo] = JSON.parse(line);
  }
  const r = out['remax'];
  const p = out['ppo'];
  if (r && p) {
    console.log(
      JSON.stringify({
        bench: 'remax-vs-ppo',
        reward_shape: REWARD_SHAPE,
        peak_tensor_ratio: r.peak_tensor_bytes / p.peak_tensor_bytes,
        rss_ratio: r.max_rss_bytes / p.max_rss_bytes,
        seconds_ratio: r.seconds / p.seconds,
        goal: 'ReMax peak <= 0.6x PPO (paper: ~50% less memory)',
        meets_goal: r.peak_tensor_bytes <= 0.6 * p.peak_tensor_bytes,
      }),
    );
  }
  const l = out['remax-lora'];
  if (r && l) {
    const steady = (x: StepLine) => x.peak_second_step_bytes ?? x.peak_tensor_bytes;
    console.log(
      JSON.stringify({
        bench: 'remax-lora-vs-full',
        lora: LORA,
        full_first_step_peak_bytes: r.peak_tensor_bytes,
        lora_first_step_peak_bytes: l.peak_tensor_bytes,
        first_step_ratio: l.peak_tensor_bytes / r.peak_tensor_bytes,
        full_second_step_peak_bytes: steady(r),
        lora_second_step_peak_bytes: steady(l),
        peak_tensor_ratio: steady(l) / steady(r),
        rss_ratio: l.max_rss_bytes / r.max_rss_bytes,
        seconds_ratio: l.seconds / r.seconds,
        ...loraFloor(r, l),
        goal: 'ReMax with LoRA peak <= 0.65x full fine-tuning (second step: AdamW moments resident)',
        meets_goal: steady(l) <= 0.65 * steady(r),
      }),
    );
  }
  if (r && p && REWARD_SHAPE === 'small') compareWithAnchor([r, p]);
}
