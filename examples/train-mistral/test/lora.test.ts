import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRunConfig } from '../src/config/load.js';
import { latestCheckpoint } from '../src/run/checkpoint.js';
import { readMetrics } from '../src/run/metrics.js';
import { train } from '../src/run/train.js';
import { deterministicPart, FAST, tinyYaml, weightsOf } from './trainHelpers.js';

const LORA = [...FAST, 'optim.lr=5e-3', 'lora.r=4', 'lora.alpha=8'];
const LONG = 900_000;

const bytes = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);

describe('train with LoRA', () => {
  it(
    'ReMax: reference = adapters off (KL 0 at step 1); 2 steps + resume + 2 == 4 bit for bit; adapter checkpoints; final adapter + merged',
    async () => {
      const { config } = loadRunConfig(tinyYaml, {
        set: [...LORA, 'train.max_steps=4', 'output.save_merged=true'],
      });
      const straight = mkdtempSync(join(tmpdir(), 'remax-lora-straight-'));
      const resumed = mkdtempSync(join(tmpdir(), 'remax-lora-resumed-'));
      const run = await train({
        config,
        runDir: straight,
        progress: false,
      });
      // fresh adapters (B = 0): the policy equals the reference before the first update
      expect(run.records[0]?.kl).toBe(0);
      expect(run.records.at(-1)?.kl).toBeGreaterThan(0);
      await train({
        config,
        runDir: resumed,
        progress: false,
        stopAfter: 2,
      });
      await train({
        config,
        runDir: resumed,
        progress: false,
        resume: true,
      });
      const a = readMetrics(straight).map(deterministicPart);
      expect(a).toHaveLength(4);
      expect(readMetrics(resumed).map(deterministicPart)).toEqual(a);

      // the checkpoint's policy is the adapter folder (with the run's generation
      // config and model card, as every saved policy folder); the optimizer state
      // is adapter-sized
      const ckpt = latestCheckpoint(straight);
      expect(readdirSync(join(ckpt, 'policy')).sort()).toEqual([
        'README.md',
        'adapter_config.json',
        'adapter_model.safetensors',
        'generation_config.json',
      ]);
      const wa = await weightsOf(join(ckpt, 'policy', 'adapter_model.safetensors'));
      const wb = await weightsOf(
        join(latestCheckpoint(resumed), 'policy', 'adapter_model.safetensors'),
      );
      expect([...wb.keys()]).toEqual([...wa.keys()]);
      expect(wa.size).toBe(2 * 7 * 2); // A and B of seven projections, two layers
      for (const [k, v] of wa)
        expect(bytes(v).equals(bytes(wb.get(k) as Float32Array)), k).toBe(true);
      const opt = await weightsOf(join(ckpt, 'algorithm-state.safetensors'));
      const optElements = [...opt.values()].reduce((s, t) => s + t.length, 0);
      const adapterElements = [...wa.values()].reduce((s, t) => s + t.length, 0);
      expect(optElements).toBeLessThanOrEqual(2 * adapterElements + opt.size);
      // final/: the adapter (PEFT files) and the merged HF checkpoint
      const final = join(straight, 'final');
      expect(existsSync(join(final, 'adapter_config.json'))).toBe(true);
      expect(existsSync(join(final, 'adapter_model.safetensors'))).toBe(true);
      expect(existsSync(join(final, 'merged', 'config.json'))).toBe(true);
      for (const dir of [final, join(final, 'merged')])
        expect(existsSync(join(dir, 'generation_config.json')), dir).toBe(true);
      expect(readdirSync(join(final, 'merged')).some((f) => f.endsWith('.safetensors'))).toBe(true);
    },
    LONG,
  );

  it(
    'PPO: the critic backbone takes adapters too; critic.safetensors holds adapters + head',
    async () => {
      const { config } = loadRunConfig(tinyYaml, {
        algo: 'ppo',
        set: [...LORA, 'train.max_steps=1'],
      });
      const runDir = mkdtempSync(join(tmpdir(), 'remax-lora-ppo-'));
      const result = await train({
        config,
        runDir,
        progress: false,
      });
      expect(result.records).toHaveLength(1);
      expect(Number.isFinite(result.records[0]?.reward)).toBe(true);
      const critic = await weightsOf(join(latestCheckpoint(runDir), 'critic.safetensors'));
      const names = [...critic.keys()];
      expect(names).toContain('regression_head.weight');
      expect(
        names
          .filter((n) => n !== 'regression_head.weight')
          .every((n) => /lora_[AB]\.weight$/.test(n)),
      ).toBe(true);
    },
    LONG,
  );

  it('refuses lora with a reference.path, dropout > 0, and save_merged without lora', async () => {
    const run = (set: string[]) => {
      const { config } = loadRunConfig(tinyYaml, { set: [...LORA, ...set] });
      return train({
        config,
        runDir: mkdtempSync(join(tmpdir(), 'remax-lora-bad-')),
        progress: false,
      });
    };
    await expect(run(['reference.path=../../../fixtures/models/tiny-mistral'])).rejects.toThrow(
      /reference.path/,
    );
    expect(() => loadRunConfig(tinyYaml, { set: [...LORA, 'lora.dropout=0.05'] })).toThrow(
      /lora.dropout/,
    );
    const { config } = loadRunConfig(tinyYaml, { set: ['output.save_merged=true'] });
    await expect(
      train({
        config,
        runDir: mkdtempSync(join(tmpdir(), 'remax-lora-bad-')),
        progress: false,
      }),
    ).rejects.toThrow(/save_merged/);
  });
});
