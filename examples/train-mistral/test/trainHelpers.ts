import { fileURLToPath } from 'node:url';
import { openCheckpoint } from '@remax/safetensors';
import { algorithmFactories } from '../src/algorithms.js';
import type { RunConfig } from '../src/config/schema.js';
import type { StepRecord } from '../src/run/metrics.js';
import { train } from '../src/run/train.js';

// Shared by the tests that train the tiny demo config.
export const tinyYaml = fileURLToPath(new URL('../configs/tiny.yaml', import.meta.url));
// a fast variant of the demo: 2 prompts per step (micro-batches of 1), 4 new tokens
export const FAST = [
  'train.batch_size=2',
  'train.micro_batch_size=1',
  'data.max_answer_seq=4',
  'data.max_prompt_seq=32',
  'data.num_prompts=16',
  'data.eval_prompts=0',
  'output.checkpoint_every=0',
  'output.report=false',
];

/** Everything a step reports except wall-clock time, throughput and memory. */
export function deterministicPart(r: StepRecord): Record<string, unknown> {
  const algo = Object.fromEntries(
    Object.entries(r.algo).filter(
      ([k]) => !k.startsWith('time/') && !k.startsWith('throughput/') && !k.startsWith('memory/'),
    ),
  );
  return {
    step: r.step,
    epoch: r.epoch,
    prompts_seen: r.prompts_seen,
    reward: r.reward,
    greedy_reward: r.greedy_reward,
    kl: r.kl,
    response_length: r.response_length,
    lr: r.lr,
    algo,
  };
}

export async function weightsOf(dir: string): Promise<Map<string, Float32Array>> {
  const ckpt = await openCheckpoint(dir);
  try {
    const out = new Map<string, Float32Array>();
    for (const name of ckpt.names())
      out.set(name, (await ckpt.read(name, { as: 'float32' })) as Float32Array);
    return out;
  } finally {
    await ckpt.close();
  }
}

/** Metrics that compare the generator's logprobs with the trainer's, split from the rest. */
const ENGINE_LOGPROB_KEYS = [
  'policy/logprob_mismatch',
  'rollout/logprob_abs_diff_mean',
  'rollout/logprob_abs_diff_max',
];

export function splitEngineLogprobs(records: StepRecord[]): [Record<string, unknown>[], number[]] {
  const values: number[] = [];
  const rest = records.map((r) => {
    const out = deterministicPart(r);
    const algo = { ...(out.algo as Record<string, number>) };
    for (const k of ENGINE_LOGPROB_KEYS) {
      if (k in algo) values.push(algo[k] as number);
      delete algo[k];
    }
    return { ...out, algo };
  });
  return [rest, values];
}

/**
 * Trains until the engine is closed after step 1; returns what the run threw.
 * The caller checks it is E_ENGINE with the --resume command and a step-1 checkpoint.
 */
export async function trainUntilEngineDies(
  config: RunConfig,
  runDir: string,
  engine: { close(): Promise<void> },
): Promise<unknown> {
  return train({
    config,
    factories: algorithmFactories,
    runDir,
    progress: false,
    onStep: (r) => {
      if (r.step === 1) void engine.close();
    },
  }).then(
    () => null,
    (e: unknown) => e,
  );
}
