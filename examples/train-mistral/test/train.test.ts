import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openCheckpoint } from '@remax/safetensors';
import { describe, expect, it } from 'vitest';
import { algorithmFactories } from '../src/algorithms.js';
import { loadRunConfig } from '../src/config/load.js';
import { planRun } from '../src/plan/plan.js';
import { latestCheckpoint } from '../src/run/checkpoint.js';
import type { StepRecord } from '../src/run/metrics.js';
import { readMetrics } from '../src/run/metrics.js';
import { train } from '../src/run/train.js';

const tinyYaml = fileURLToPath(new URL('../configs/tiny.yaml', import.meta.url));
// a fast variant of the demo: 2 prompts per step (micro-batches of 1), 4 new tokens
const FAST = [
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
function deterministicPart(r: StepRecord): Record<string, unknown> {
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

async function weightsOf(dir: string): Promise<Map<string, Float32Array>> {
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

// Minutes, not seconds: these train real (tiny) models, and CI machines are shared.
const LONG = 900_000;

describe('train', () => {
  it(
    '2 steps + resume + 2 steps == 4 steps: bit-identical metrics and weights',
    async () => {
      const { config } = loadRunConfig(tinyYaml, { set: [...FAST, 'train.max_steps=4'] });
      const straight = mkdtempSync(join(tmpdir(), 'remax-straight-'));
      const resumed = mkdtempSync(join(tmpdir(), 'remax-resumed-'));
      await train({ config, factories: algorithmFactories, runDir: straight, progress: false });
      const first = await train({
        config,
        factories: algorithmFactories,
        runDir: resumed,
        progress: false,
        stopAfter: 2,
      });
      expect(first.stopped).toBe('stop-after');
      expect(first.records).toHaveLength(2);
      const second = await train({
        config,
        factories: algorithmFactories,
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
      const w2 = await weightsOf(join(resumed, 'checkpoints', 'step-000002', 'policy'));
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
        factories: algorithmFactories,
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
