import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadRunConfig } from '../src/config/load.js';
import { architectureOf, KNOWN_ARCHITECTURES, parameterCount } from '../src/plan/architecture.js';
import { formatPlan, kvCacheBytes, planRun } from '../src/plan/plan.js';

const configs = fileURLToPath(new URL('../configs/', import.meta.url));
const fixtures = fileURLToPath(new URL('../../../fixtures/models/', import.meta.url));

describe('plan', () => {
  it('counts Mistral-7B-Instruct-v0.2 parameters exactly (7,241,732,096)', () => {
    const a = KNOWN_ARCHITECTURES['mistralai/Mistral-7B-Instruct-v0.2'];
    expect(a).toBeDefined();
    if (a) expect(parameterCount(a, 'lm')).toBe(7_241_732_096);
  });

  it('counts UltraRM-13b (Llama-2-13B backbone + [1, 5120] head) by hand', () => {
    const a = KNOWN_ARCHITECTURES['openbmb/UltraRM-13b'];
    if (!a) throw new Error('missing');
    // embed 32000*5120 + 40 layers * (4*5120^2 + 3*5120*13824 + 2*5120) + norm 5120 + head 5120
    const hand = 32000 * 5120 + 40 * (4 * 5120 * 5120 + 3 * 5120 * 13824 + 2 * 5120) + 5120 + 5120;
    expect(parameterCount(a, 'scalar')).toBe(hand);
    // = Llama-2-13b's 13,015,864,320 - its LM head (32000*5120) + the regression head (5120)
    expect(hand).toBe(13_015_864_320 - 32000 * 5120 + 5120);
  });

  it('counts the tiny fixtures from their config.json, matching the safetensors index', async () => {
    const tiny = architectureOf(join(fixtures, 'tiny-mistral'), null);
    // 32000*64 embed + 2 layers * (2*64*64 + 2*64*32 + 3*64*160 + 128) + 64 + 32000*64 head
    expect(parameterCount(tiny, 'lm')).toBe(
      2 * 32000 * 64 + 2 * (2 * 64 * 64 + 2 * 64 * 32 + 3 * 64 * 160 + 128) + 64,
    );
    const { readFileSync } = await import('node:fs');
    const index = JSON.parse(
      readFileSync(join(fixtures, 'tiny-mistral', 'model.safetensors.index.json'), 'utf8'),
    ) as { metadata: { total_size: number } };
    // the index counts bf16 bytes: 2 per parameter
    expect(parameterCount(tiny, 'lm') * 2).toBe(index.metadata.total_size);
  });

  it('puts a critic and its optimizer in PPO and a paired KV cache in ReMax', () => {
    const remax = planRun(
      loadRunConfig(join(configs, 'mistral-7b-remax.yaml')).config,
      'tensorflow',
    );
    const ppo = planRun(loadRunConfig(join(configs, 'mistral-7b-ppo.yaml')).config, 'tensorflow');
    const names = (p: typeof remax) => p.rows.map((r) => r.component);
    expect(names(remax)).not.toContain('critic weights');
    expect(names(ppo)).toContain('critic optimizer state');
    const a = KNOWN_ARCHITECTURES['mistralai/Mistral-7B-Instruct-v0.2'];
    if (!a) throw new Error('missing');
    // 2 (k, v) * 32 layers * 8 kv heads * 128 dims * 16 rows * 768 tokens * 4 bytes
    expect(kvCacheBytes(a, 16, 768)).toBe(2 * 32 * 8 * 128 * 16 * 768 * 4);
    expect(remax.rows.find((r) => r.component === 'KV cache (generation)')?.bytes).toBe(
      kvCacheBytes(a, 16, 768),
    );
    expect(remax.totalBytes).toBeLessThan(ppo.totalBytes);
    expect(remax.fits).toBeNull();
    expect(planRun(loadRunConfig(join(configs, 'mistral-7b-remax.yaml')).config, 'wasm').fits).toBe(
      false,
    );
    expect(formatPlan(remax)).toContain('7,241,732,096');
  });

  it('says the tiny config fits on wasm', () => {
    const plan = planRun(loadRunConfig(join(configs, 'tiny.yaml')).config, 'wasm');
    expect(plan.fits).toBe(true);
  });

  it('the deploy/7b config: memory per process (trainer, rollout engine, reward engine)', () => {
    const deploy = fileURLToPath(
      new URL('../../../deploy/7b/configs/mistral-7b-remax-vllm.yaml', import.meta.url),
    );
    const { config } = loadRunConfig(deploy);
    expect(config.rollout.engine).toBe('openai');
    expect(config.reward.engine).toBe('remote');
    expect(config.lora?.r).toBe(16);
    expect(config.sync?.every_steps).toBe(1);
    // the same LoRA run with every process in the trainer
    const local = planRun(
      loadRunConfig(join(configs, 'mistral-7b-remax-lora.yaml')).config,
      'tensorflow',
    );
    const plan = planRun(config, 'tensorflow');
    const byProcess = Object.fromEntries(plan.processes.map((p) => [p.process, p.bytes]));
    const pPolicy = 7_241_732_096;
    // the engines hold bf16 weights; the reward weights and the KV cache leave the trainer
    expect(byProcess['reward engine (vLLM)']).toBe(
      (local.rows.find((r) => r.component === 'reward model weights')?.bytes ?? 0) / 2,
    );
    expect(byProcess['rollout engine (vLLM)']).toBe(
      pPolicy * 2 +
        kvCacheBytes(architectureOf(config.policy.path, config.policy.hub_id), 16, 768) / 2,
    );
    expect(byProcess.trainer).toBe(
      local.residentBytes -
        (local.rows.find((r) => r.component === 'reward model weights')?.bytes ?? 0) +
        (local.rows.find((r) => r.component === 'activations (training)')?.bytes ?? 0),
    );
    expect(formatPlan(plan)).toContain('| rollout engine (vLLM) |');
  });
});
