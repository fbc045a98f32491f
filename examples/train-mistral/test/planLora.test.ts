import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadRunConfig } from '../src/config/load.js';
import { KNOWN_ARCHITECTURES, loraParameterCount } from '../src/plan/architecture.js';
import { planRun } from '../src/plan/plan.js';

const configs = fileURLToPath(new URL('../configs/', import.meta.url));

describe('plan with LoRA', () => {
  it('counts Mistral-7B r 16 adapters on all seven projections by hand', () => {
    const a = KNOWN_ARCHITECTURES['mistralai/Mistral-7B-Instruct-v0.2'];
    if (!a) throw new Error('missing');
    const all = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];
    // per layer r * (in + out): q, o 4096+4096; k, v 4096+1024; gate, up, down 4096+14336
    const hand = 32 * 16 * (2 * 8192 + 2 * 5120 + 3 * 18432);
    expect(loraParameterCount(a, { r: 16, target_modules: all })).toBe(hand);
    expect(hand).toBe(41_943_040);
  });

  it('configs/mistral-7b-remax-lora.yaml: no reference copy, adapter-sized gradients and moments, < 0.5x full', () => {
    const { config } = loadRunConfig(join(configs, 'mistral-7b-remax-lora.yaml'));
    expect(config.lora).toMatchObject({ r: 16, alpha: 32, dropout: 0 });
    expect(config.lora?.target_modules).toHaveLength(7);
    const lora = planRun(config, 'tensorflow');
    const full = planRun({ ...config, lora: null }, 'tensorflow');
    const row = (p: typeof lora, name: string) => p.rows.find((r) => r.component === name)?.bytes;
    expect(row(lora, 'reference weights')).toBe(0);
    expect(row(lora, 'policy gradients')).toBe(41_943_040 * 4);
    expect(row(lora, 'policy optimizer state')).toBe(2 * 41_943_040 * 4);
    expect(row(full, 'reference weights')).toBe(7_241_732_096 * 4);
    // the rest (reward model, KV cache, activations) is the same
    expect(full.totalBytes - lora.totalBytes).toBe(7_241_732_096 * 4 * 4 - 41_943_040 * 4 * 4);
    expect(lora.totalBytes / full.totalBytes).toBeLessThan(0.5);
  });

  it('PPO with LoRA: the critic trains adapters + head only', () => {
    const { config } = loadRunConfig(join(configs, 'mistral-7b-remax-lora.yaml'), { algo: 'ppo' });
    const p = planRun(config, 'tensorflow');
    const names = p.rows.map((r) => r.component);
    expect(names).toContain('critic LoRA adapters + head');
    const grads = p.rows.find((r) => r.component === 'critic gradients')?.bytes ?? 0;
    expect(grads).toBeLessThan(1e9);
  });
});
