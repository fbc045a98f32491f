import { totalmem } from 'node:os';
import type { RunConfig } from '../config/schema.js';
import {
  type Architecture,
  architectureOf,
  loraParameterCount,
  parameterCount,
} from './architecture.js';

const F32 = 4;

/** Largest [rows, V] logits chunk the fused head ops make (core's default, 4M floats). */
const HEAD_CHUNK = 1 << 22;

/** Which process holds a component: the trainer, or a serving engine (vLLM) at 7B. */
export type PlanProcess = 'trainer' | 'rollout engine (vLLM)' | 'reward engine (vLLM)';

export interface PlanRow {
  component: string;
  params: number | null;
  bytes: number;
  note: string;
  /** Default 'trainer'. */
  process?: PlanProcess;
}

/** bf16: what vLLM holds a bf16 checkpoint in (--dtype auto). */
const BF16 = 2;

export interface Plan {
  backend: string;
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

/**
 * Activation floats kept for the backward pass of one decoder layer, per
 * sequence: the inputs of every linear and norm (10 x hidden), the four MLP
 * intermediates (4 x intermediate) and the attention scores and probabilities.
 */
export function layerActivationFloats(a: Architecture, seqLen: number): number {
  return (
    seqLen * (10 * a.hidden_size + 4 * a.intermediate_size) +
    2 * a.num_attention_heads * seqLen * seqLen
  );
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
  const policy = architectureOf(config.policy.path, config.policy.hub_id);
  const reward = architectureOf(config.reward.path, config.reward.hub_id);
  const critic =
    config.critic.path === null ? reward : architectureOf(config.critic.path, config.critic.hub_id);
  const pPolicy = parameterCount(policy, 'lm');
  const pReward = parameterCount(reward, 'scalar');
  const pCritic = parameterCount(critic, 'scalar');
  const seq = config.data.max_prompt_seq + config.data.max_answer_seq;
  const mb = config.train.micro_batch_size;
  const isPpo = config.algo === 'ppo';
  // ReMax generates a sampled and a greedy response per prompt in one batch.
  const genRows = config.train.batch_size * (isPpo ? 1 : 2);

  // LoRA: the base is frozen, only the adapters have gradients and AdamW moments, and
  // the reference is the policy with its adapters off (no second copy)
  const lora = config.lora;
  const pTrain = lora ? loraParameterCount(policy, lora) : pPolicy;
  const rows: PlanRow[] = [
    {
      component: 'policy weights',
      params: pPolicy,
      bytes: pPolicy * F32,
      note: lora ? 'frozen base, float32' : 'trainable, float32',
    },
    ...(lora
      ? [
          {
            component: 'LoRA adapters',
            params: pTrain,
            bytes: pTrain * F32,
            note: `r ${lora.r}, ${lora.target_modules.length} projections x ${policy.num_hidden_layers} layers`,
          },
        ]
      : []),
    {
      component: 'policy gradients',
      params: null,
      bytes: pTrain * F32,
      note: lora ? 'adapters only' : 'one per weight',
    },
    {
      component: 'policy optimizer state',
      params: null,
      bytes: 2 * pTrain * F32,
      note: `AdamW first and second moments${lora ? ' (adapters)' : ''}`,
    },
    lora
      ? {
          component: 'reference weights',
          params: 0,
          bytes: 0,
          note: 'the policy with adapters off',
        }
      : {
          component: 'reference weights',
          params: pPolicy,
          bytes: pPolicy * F32,
          note: 'frozen copy of the policy',
        },
    config.reward.engine === 'remote'
      ? {
          component: 'reward model weights',
          params: pReward,
          bytes: pReward * BF16,
          note: 'bf16, served for POST /classify (converted with convert-rm)',
          process: 'reward engine (vLLM)',
        }
      : {
          component: 'reward model weights',
          params: pReward,
          bytes: pReward * F32,
          note: 'frozen',
        },
  ];
  const remoteRollout = config.rollout.engine === 'openai';
  if (remoteRollout) {
    rows.push({
      component: 'policy weights (engine copy)',
      params: pPolicy,
      bytes: pPolicy * BF16,
      note: 'bf16, the base model vLLM samples from (LoRA adapters on top)',
      process: 'rollout engine (vLLM)',
    });
  }
  if (isPpo && lora?.critic) {
    // critic adapters + its regression head train; the backbone is frozen
    const pCriticTrain = loraParameterCount(critic, lora) + critic.hidden_size;
    rows.push(
      {
        component: 'critic weights',
        params: pCritic,
        bytes: pCritic * F32,
        note: 'frozen backbone',
      },
      {
        component: 'critic LoRA adapters + head',
        params: pCriticTrain,
        bytes: pCriticTrain * F32,
        note: 'trainable',
      },
      {
        component: 'critic gradients',
        params: null,
        bytes: pCriticTrain * F32,
        note: 'adapters + head',
      },
      {
        component: 'critic optimizer state',
        params: null,
        bytes: 2 * pCriticTrain * F32,
        note: 'AdamW',
      },
    );
  } else if (isPpo) {
    rows.push(
      {
        component: 'critic weights',
        params: pCritic,
        bytes: pCritic * F32,
        note: 'trainable value model',
      },
      { component: 'critic gradients', params: null, bytes: pCritic * F32, note: '' },
      {
        component: 'critic optimizer state',
        params: null,
        bytes: 2 * pCritic * F32,
        note: 'AdamW',
      },
    );
  }
  const onTrainer = (r: PlanRow) => (r.process ?? 'trainer') === 'trainer';
  const residentBytes = rows.filter(onTrainer).reduce((s, r) => s + r.bytes, 0);

  // vLLM's paged KV cache holds bf16; its real size is what --gpu-memory-utilization leaves.
  const kv = kvCacheBytes(policy, genRows, seq) / (remoteRollout ? F32 / BF16 : 1);
  // The LM head runs fused over row chunks (core's logprobsFromHidden /
  // nextTokenScores): at most ~3 chunks of HEAD_CHUNK logits are alive (the
  // policy's chunk and its gradient, or the policy's and the reference's),
  // never [mb, seq, V].
  const headFloats = 3 * Math.min(mb * seq * policy.vocab_size, HEAD_CHUNK);
  const policyActs =
    (mb * policy.num_hidden_layers * layerActivationFloats(policy, seq) + headFloats) * F32;
  const criticActs = isPpo
    ? mb * critic.num_hidden_layers * layerActivationFloats(critic, seq) * F32
    : 0;
  const activations = policyActs + criticActs;
  rows.push(
    {
      component: 'KV cache (generation)',
      params: null,
      bytes: kv,
      note: `${genRows} rows x ${seq} tokens${isPpo ? '' : ' (sampled + greedy)'}${remoteRollout ? ', bf16 (at least; vLLM pre-allocates)' : ''}`,
      ...(remoteRollout ? { process: 'rollout engine (vLLM)' as const } : {}),
    },
    {
      component: 'activations (training)',
      params: null,
      bytes: activations,
      note: `micro-batch ${mb} x ${seq} tokens: layers + LM-head chunks${isPpo ? ' + critic' : ''}`,
    },
  );
  const transientBytes = remoteRollout ? activations : Math.max(kv, activations);
  const totalBytes = residentBytes + transientBytes;
  const processes: Plan['processes'] = [{ process: 'trainer', bytes: totalBytes }];
  for (const process of ['rollout engine (vLLM)', 'reward engine (vLLM)'] as const) {
    const held = rows.filter((r) => r.process === process);
    if (held.length > 0) processes.push({ process, bytes: held.reduce((s, r) => s + r.bytes, 0) });
  }
  const limitBytes = options.limitBytes ?? defaultLimit(backend);
  return {
    backend,
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
    `| **peak estimate${several ? ' (trainer)' : ''}** | | **${formatBytes(plan.totalBytes)}** | resident ${formatBytes(plan.residentBytes)} + largest phase ${formatBytes(plan.transientBytes)} |`,
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
  return `${lines.join('\n')}\n\n${verdict}\n`;
}
