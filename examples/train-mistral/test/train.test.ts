import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRunConfig } from '../src/config/load.js';
import { planRun } from '../src/plan/plan.js';
import { latestCheckpoint } from '../src/run/checkpoint.js';
import { readMetrics } from '../src/run/metrics.js';
import { train } from '../src/run/train.js';
import { deterministicPart, FAST, tinyYaml, weightsOf } from './trainHelpers.js';

// Minutes, not seconds: these train real (tiny) models, and CI machines are shared.
const LONG = 900_000;

describe('train', () => {
  it(
    '2 steps + resume + 2 steps == 4 steps: bit-identical metrics and weights',
    async () => {
      const { config } = loadRunConfig(tinyYaml, { set: [...FAST, 'train.max_steps=4'] });
      const straight = mkdtempSync(join(tmpdir(), 'remax-straight-'));
      const resumed = mkdtempSync(join(tmpdir(), 'remax-resumed-'));
      await train({ config, runDir: straight, progress: false });
      const first = await train({
        config,
        runDir: resumed,
        progress: false,
        stopAfter: 2,
      });
      expect(first.stopped).toBe('stop-after');
      expect(first.records).toHaveLength(2);
      const second = await train({
        config,
        runDir: resumed,
        progress: false,
        resume: true,
      });
      expect(second.stopped).toBe('done');
      const a = readMetrics(straight).map(deterministicPart);
      const b = readMetrics(resumed).map(deterministicPart);
      expect(a).toHaveLength(4);
      expect(b).toEqual(a);
      const wa = await weightsOf(join(latestCheckpoint(straight), 'policy'));
      const wb = await weightsOf(join(latestCheckpoint(resumed), 'policy'));
      expect([...wb.keys()].sort()).toEqual([...wa.keys()].sort());
      const same = (x: Float32Array, y: Float32Array) =>
        Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(
          Buffer.from(y.buffer, y.byteOffset, y.byteLength),
        );
      const differing = [...wa].filter(([n, x]) => !same(x, wb.get(n) as Float32Array));
      expect(differing.map(([n]) => n)).toEqual([]);
      // the step-2 weights differ from step 4, so the comparison above can fail
      const w2 = await weightsOf(join(resumed, 'checkpoints', 'checkpoint-2', 'policy'));
      const name = 'model.layers.0.mlp.down_proj.weight';
      expect(same(w2.get(name) as Float32Array, wa.get(name) as Float32Array)).toBe(false);
      // `plan` against the measured peak of the same run (the algorithm's sampled
      // watermark): the estimate must be the right size, not exact
      const measured = Math.max(...readMetrics(straight).map((r) => r.peak_tensor_bytes));
      const estimate = planRun(config, 'wasm').totalBytes;
      expect(measured / estimate).toBeGreaterThan(0.4);
      expect(measured / estimate).toBeLessThan(2.5);
    },
    LONG,
  );

  it(
    'runs PPO from the same config by changing `algo`, with a report',
    async () => {
      const { config } = loadRunConfig(tinyYaml, {
        algo: 'ppo',
        set: [...FAST, 'train.max_steps=2', 'output.report=true'],
      });
      const runDir = mkdtempSync(join(tmpdir(), 'remax-ppo-'));
      const result = await train({
        config,
        runDir,
        progress: false,
      });
      expect(result.records).toHaveLength(2);
      expect(result.records.every((r) => r.reward !== null && Number.isFinite(r.reward))).toBe(
        true,
      );
      expect(result.records[0]?.greedy_reward).toBeNull();
      expect(existsSync(join(runDir, 'report.html'))).toBe(true);
      expect(existsSync(join(runDir, 'charts', 'reward.png'))).toBe(true);
      // the final policy is a Hugging Face directory
      const files = readdirSync(join(runDir, 'final'));
      expect(files).toContain('config.json');
      expect(files.some((f) => f.endsWith('.safetensors'))).toBe(true);
      expect(
        JSON.parse(readFileSync(join(runDir, 'final', 'config.json'), 'utf8')).model_type,
      ).toBe('mistral');
    },
    LONG,
  );
});
