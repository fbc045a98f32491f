import { totalmem } from 'node:os';
import type { RunConfig } from '../config/schema.js';
import { describeShape, responsesPerPrompt } from '../registry/generation.js';
import { algorithmNamed, generationShape } from '../registry/lookup.js';
import {
  type Architecture,
  architectureOf,
  loraParameterCount,
  parameterCount,
} from './architecture.js';
import {
  F32,
  layerActivationFloats,
  type PlanProcess,
  type PlanRow,
  resident,
} from './memoryModel.js';

/** Largest [rows, V] logits chunk the fused head ops make (core's default, 4M floats). */
const HEAD_CHUNK = 1 << 22;

export type { PlanProcess, PlanRow };

/** bf16: what vLLM holds a bf16 checkpoint in (--dtype auto). */
const BF16 = 2;

export interface Plan {
  backend: string;
  /** The algorithm planned for and what it generates per step. */
  algo: string;
  generation: string;
  rows: PlanRow[];
  /** Resident for the whole run (weights, grads, optimizer state). */
  residentBytes: number;
  /** Largest transient of one phase (generation or training). */
  transientBytes: number;
  totalBytes: number;
  /** Memory the backend can use, when known. */
  limitBytes: number | null;
  fits: boolean | null;
  /** Memory per process (the trainer's is totalBytes) when rollout or reward run on an engine. */
  processes: { process: PlanProcess; bytes: number }[];
}

/** KV cache bytes for `rows` sequences of `seqLen` tokens. */
export function kvCacheBytes(a: Architecture, rows: number, seqLen: number): number {
  const headDim = a.hidden_size / a.num_attention_heads;
  return 2 * a.num_hidden_layers * a.num_key_value_heads * headDim * rows * seqLen * F32;
}

/**
 * Parameter counts and a float32 memory estimate per component for a run
 * config on a backend. Models are held in float32 (the config's dtype), so a
 * 7B policy is ~29 GB of weights before gradients and AdamW's two moments.
 */
export function planRun(
  config: RunConfig,
  backend: string,
  options: { limitBytes?: number } = {},
): Plan {
  const algorithm = algorithmNamed(config.algo);
  const shape = generationShape(config, config.algo);
  const policy = architectureOf(config.policy.path, config.policy.hub_id);
  const reward = architectureOf(config.reward.path, config.reward.hub_id);
  const critic =
    config.critic.path === null ? reward : architectureOf(config.critic.path, config.critic.hub_id);
  const pPolicy = parameterCount(policy, 'lm');
  const pReward = parameterCount(reward, 'scalar');
  const seq = config.data.max_prompt_seq + config.data.max_answer_seq;
  const mb = config.train.micro_batch_size;
  // every response of a step (sampled and greedy) decodes in one batch
  const genRows = config.train.batch_size * responsesPerPrompt(shape);
  // The LM head runs fused over row chunks (core's logprobsFromHidden /
  // nextTokenScores): at most ~3 chunks of HEAD_CHUNK logits are alive (the
  // policy's chunk and its gradient, or the policy's and the reference's),
  // never [mb, seq, V].
  const headFloats = 3 * Math.min(mb * seq * policy.vocab_size, HEAD_CHUNK);

  // LoRA: the base is frozen, only the adapters have gradients and AdamW moments, and
  // the reference is the policy with its adapters off (no second copy)
  const lora = config.lora;
  const remoteRollout = config.rollout.engine === 'openai';
  const pTrain = lora ? loraParameterCount(policy, lora) : pPolicy;
  const rows: PlanRow[] = [
    resident(
      'policy weights',
      pPolicy,
      pPolicy * F32,
      lora ? 'frozen base, float32' : 'trainable, float32',
    ),
    ...(lora
      ? [
          resident(
            'LoRA adapters',
            pTrain,
            pTrain * F32,
            `r ${lora.r}, ${lora.target_modules.length} projections x ${policy.num_hidden_layers} layers`,
          ),
        ]
      : []),
    resident('policy gradients', null, pTrain * F32, lora ? 'adapters only' : 'one per weight'),
    resident(
      'policy optimizer state',
      null,
      2 * pTrain * F32,
      `AdamW first and second moments${lora ? ' (adapters)' : ''}`,
    ),
    lora
      ? resident('reference weights', 0, 0, 'the policy with adapters off')
      : resident('reference weights', pPolicy, pPolicy * F32, 'frozen copy of the policy'),
    config.reward.engine === 'remote'
      ? {
          ...resident(
            'reward model weights',
            pReward,
            pReward * BF16,
            'bf16, served for POST /classify (converted with convert-rm)',
          ),
          process: 'reward engine (vLLM)',
        }
      : resident('reward model weights', pReward, pReward * F32, 'frozen'),
    ...(remoteRollout
      ? [
          {
            ...resident(
              'policy weights (engine copy)',
              pPolicy,
              pPolicy * BF16,
              'bf16, the base model vLLM samples from (LoRA adapters on top)',
            ),
            process: 'rollout engine (vLLM)' as const,
          },
        ]
      : []),
    {
      component: 'KV cache (generation)',
      params: null,
      // vLLM's paged KV cache holds bf16; its real size is what --gpu-memory-utilization leaves
      bytes: kvCacheBytes(policy, genRows, seq) / (remoteRollout ? F32 / BF16 : 1),
      note: `${genRows} rows x ${seq} tokens: ${describeShape(config.train.batch_size, shape)}${remoteRollout ? ', bf16 (at least; vLLM pre-allocates)' : ''}`,
      phase: 'generation',
      ...(remoteRollout ? { process: 'rollout engine (vLLM)' as const } : {}),
    },
    {
      component: 'activations (training)',
      params: null,
      bytes:
        (mb * policy.num_hidden_layers * layerActivationFloats(policy, seq) + headFloats) * F32,
      note: `micro-batch ${mb} x ${seq} tokens: layers + LM-head chunks`,
      phase: 'training',
    },
    ...algorithm.memory({
      critic,
      criticParams: parameterCount(critic, 'scalar'),
      // with lora.critic, a critic trains its adapters and regression head only
      criticTrainableParams: lora?.critic
        ? loraParameterCount(critic, lora) + critic.hidden_size
        : null,
      seqLen: seq,
      microBatch: mb,
    }),
  ];
  const onTrainer = (r: PlanRow) => (r.process ?? 'trainer') === 'trainer';
  const sum = (phase: PlanRow['phase']) =>
    rows.filter((r) => onTrainer(r) && r.phase === phase).reduce((s, r) => s + r.bytes, 0);
  const residentBytes = sum('resident');
  const transientBytes = Math.max(sum('generation'), sum('training'));
  const totalBytes = residentBytes + transientBytes;
  const processes: Plan['processes'] = [{ process: 'trainer', bytes: totalBytes }];
  for (const process of ['rollout engine (vLLM)', 'reward engine (vLLM)'] as const) {
    const held = rows.filter((r) => r.process === process);
    if (held.length > 0) processes.push({ process, bytes: held.reduce((s, r) => s + r.bytes, 0) });
  }
  const limitBytes = options.limitBytes ?? defaultLimit(backend);
  return {
    backend,
    algo: config.algo,
    generation: describeShape(config.train.batch_size, shape),
    rows,
    residentBytes,
    transientBytes,
    totalBytes,
    limitBytes,
    fits: limitBytes === null ? null : totalBytes <= limitBytes,
    processes,
  };
}

/** wasm32 addresses 4 GiB at most; the cpu backend has the machine's RAM; a GPU's size is unknown here. */
function defaultLimit(backend: string): number | null {
  if (backend === 'wasm') return 4 * 1024 ** 3;
  if (backend === 'cpu') return totalmem();
  return null;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(u === 0 ? 0 : 2)} ${units[u]}`;
}

/** The plan as a markdown table plus a verdict line. */
export function formatPlan(plan: Plan): string {
  const several = plan.processes.length > 1;
  const lines = [
    `| component | parameters | memory | note |`,
    `|---|---:|---:|---|`,
    ...plan.rows.map(
      (r) =>
        `| ${r.component} | ${r.params === null ? '' : r.params.toLocaleString('en-US')} | ${formatBytes(r.bytes)} | ${several ? `[${r.process ?? 'trainer'}] ` : ''}${r.note} |`,
    ),
    `| **peak estimate${several ? ' (trainer)' : ''}** | | **${formatBytes(plan.totalBytes)}** | resident ${formatBytes(plan.residentBytes)} + largest phase (generation or training) ${formatBytes(plan.transientBytes)} |`,
  ];
  if (several) {
    lines.push(
      '',
      '| process | memory |',
      '|---|---:|',
      ...plan.processes.map((p) => `| ${p.process} | ${formatBytes(p.bytes)} |`),
    );
  }
  const verdict =
    plan.fits === null
      ? `backend ${plan.backend}: memory limit unknown (pass --memory-limit to compare)`
      : `backend ${plan.backend}: limit ${formatBytes(plan.limitBytes ?? 0)} -> ${plan.fits ? 'fits' : 'DOES NOT FIT'}`;
  const head = `${plan.algo}: ${plan.generation} responses per step`;
  return `${head}\n\n${lines.join('\n')}\n\n${verdict}\n`;
}
