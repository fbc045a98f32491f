// Files that make a run's folders look like the Hugging Face tools expect:
// trainer_state.json in a checkpoint (transformers' TrainerState fields), and
// generation_config.json + a model card README.md in every saved policy folder.
import { join } from 'node:path';
import type { RunConfig } from '../config/schema.js';
import { type RunIo, writeDurable } from './durableWrite.js';
import type { StepRecord } from './metrics.js';
import { windowMean } from './runReport.js';

const finite = (v: number | null | undefined): v is number =>
  typeof v === 'number' && Number.isFinite(v);

/**
 * transformers' TrainerState (trainer_callback.py) as JSON, one log_history
 * entry per logged step. `epoch` is fractional as in the Trainer: prompts seen
 * over prompts per epoch. Non-finite values are left out of an entry (JSON has
 * no NaN).
 */
export function hfTrainerState(
  config: RunConfig,
  records: readonly StepRecord[],
  maxSteps: number,
  trainPrompts: number,
): string {
  const perEpoch = Math.floor(trainPrompts / config.train.batch_size) * config.train.batch_size;
  const epochOf = (promptsSeen: number) => (perEpoch > 0 ? promptsSeen / perEpoch : 0);
  const log_history = records.map((r) => {
    const entry: Record<string, number> = { epoch: epochOf(r.prompts_seen), step: r.step };
    const fields: [string, number | null | undefined][] = [
      ['learning_rate', r.lr],
      ['loss', r.algo['loss']],
      ['grad_norm', r.algo['optim/grad_norm']],
      ['reward', r.reward],
      ['greedy_reward', r.greedy_reward],
      ['kl', r.kl],
      ['response_length', r.response_length],
    ];
    for (const [k, v] of fields) if (finite(v)) entry[k] = v;
    return entry;
  });
  const last = records.at(-1);
  const state = {
    epoch: last ? epochOf(last.prompts_seen) : 0,
    global_step: last?.step ?? 0,
    max_steps: maxSteps,
    logging_steps: 1,
    eval_steps: 0,
    save_steps: config.output.checkpoint_every,
    train_batch_size: config.train.batch_size,
    num_train_epochs: config.train.epochs,
    num_input_tokens_seen: 0,
    total_flos: 0,
    log_history,
    best_metric: null,
    best_global_step: null,
    best_model_checkpoint: null,
    is_local_process_zero: true,
    is_world_process_zero: true,
    is_hyper_param_search: false,
    trial_name: null,
    trial_params: null,
    stateful_callbacks: {},
  };
  return `${JSON.stringify(state, null, 2)}\n`;
}

/** generation_config.json with the run's sampling settings (what transformers and vLLM read). */
export function generationConfig(config: RunConfig, ids: { bosId: number; eosId: number }): string {
  return `${JSON.stringify(
    {
      bos_token_id: ids.bosId,
      eos_token_id: ids.eosId,
      // batches are padded with EOS (the policy has no pad token)
      pad_token_id: ids.eosId,
      do_sample: true,
      temperature: config.generation.temperature,
      top_p: config.generation.top_p,
      top_k: config.generation.top_k,
      max_new_tokens: config.data.max_answer_seq,
    },
    null,
    2,
  )}\n`;
}

const show = (v: number | null) => (v === null ? 'n/a' : v.toFixed(4));

/** A short model card: base model, algorithm, key hyper-parameters, final reward and KL. */
export function modelCard(config: RunConfig, records: readonly StepRecord[]): string {
  const base = config.policy.hub_id ?? config.policy.path;
  const algoSettings = Object.entries(config[config.algo])
    .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
    .join(', ');
  const rows: [string, string | number][] = [
    ['algorithm', config.algo],
    ['steps', records.at(-1)?.step ?? 0],
    ['batch size (prompts per step)', config.train.batch_size],
    ['learning rate', `${config.optim.lr} (${config.optim.schedule})`],
    [`${config.algo} settings`, algoSettings],
    ['max new tokens', config.data.max_answer_seq],
    ['reward model', config.reward.hub_id ?? config.reward.path],
    ['seed', config.seed],
    ['final reward (mean of the last 5 steps)', show(windowMean(records, 'reward', 'last'))],
    ['final KL (mean of the last 5 steps)', show(windowMean(records, 'kl', 'last'))],
  ];
  return [
    '---',
    `base_model: ${JSON.stringify(base)}`,
    'library_name: transformers',
    'tags: [rlhf, remax]',
    '---',
    '',
    `# ${base}, aligned with ${config.algo === 'remax' ? 'ReMax' : 'PPO'}`,
    '',
    'Trained with remax-train-mistral (TensorFlow.js). Sampling settings are in generation_config.json.',
    '',
    '| | |',
    '|---|---|',
    ...rows.map(([k, v]) => `| ${k} | ${v} |`),
    '',
  ].join('\n');
}

/** Writes generation_config.json and README.md into a saved policy folder. */
export function writePolicyExtras(
  io: RunIo,
  dir: string,
  config: RunConfig,
  records: readonly StepRecord[],
  ids: { bosId: number; eosId: number },
): void {
  writeDurable(io, join(dir, 'generation_config.json'), generationConfig(config, ids));
  writeDurable(io, join(dir, 'README.md'), modelCard(config, records));
}
