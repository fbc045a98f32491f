import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { loadRunConfig } from '../src/config/load.js';
import { ablate, finishedRun } from '../src/run/ablate.js';
import { equalBudgetRuns } from '../src/run/ablationBudget.js';
import { appendMetrics, type StepRecord } from '../src/run/metrics.js';

const tinyYaml = fileURLToPath(new URL('../configs/tiny.yaml', import.meta.url));

const record: StepRecord = {
  step: 1,
  epoch: 0,
  prompts_seen: 16,
  reward: 0.5,
  greedy_reward: 1,
  kl: 0.1,
  response_length: 1,
  tokens_per_s: 10,
  seconds: 2,
  lr: 1e-4,
  peak_tensor_bytes: 100,
  rss_bytes: 1000,
  algo: {},
};

describe('ablate --reuse', () => {
  it('keeps a finished run only when the config that decides it is the same', () => {
    const { config } = loadRunConfig(tinyYaml);
    const dir = mkdtempSync(join(tmpdir(), 'remax-ablate-'));
    writeFileSync(join(dir, 'config.yaml'), YAML.stringify(config));
    appendMetrics(dir, record);
    // not finished: no final/ directory
    expect(finishedRun(dir, config)).toBeNull();
    mkdirSync(join(dir, 'final'));
    expect(finishedRun(dir, config)).toEqual([record]);
    // another algorithm's section does not decide a ReMax run; its own section and the seed do
    expect(finishedRun(dir, { ...config, ppo: { ...config.ppo, kl_ctl: 0.5 } })).toEqual([record]);
    expect(finishedRun(dir, { ...config, remax: { ...config.remax, kl_ctl: 0.5 } })).toBeNull();
    expect(finishedRun(dir, { ...config, seed: 2 })).toBeNull();
    // a config.yaml the schema no longer accepts is not reused
    writeFileSync(join(dir, 'config.yaml'), YAML.stringify({ ...config, remax: { old_key: 1 } }));
    expect(finishedRun(dir, config)).toBeNull();
  });
});

describe('ablate --report-only', () => {
  it('reports the finished runs, lists the missing ones and trains nothing', async () => {
    const { config } = loadRunConfig(tinyYaml);
    const out = mkdtempSync(join(tmpdir(), 'remax-ablate-only-'));
    // a finished ReMax seed-1 run of exactly the config the ablation would run
    const [remax] = equalBudgetRuns(config, ['remax']);
    if (remax === undefined) throw new Error('no run');
    const dir = join(out, 'remax-seed1');
    mkdirSync(join(dir, 'final'), { recursive: true });
    writeFileSync(join(dir, 'config.yaml'), YAML.stringify({ ...remax.config, seed: 1 }));
    appendMetrics(dir, record);
    const result = await ablate({
      config,
      algos: ['remax', 'ppo'],
      seeds: [1, 2],
      outDir: out,
      existing: 'only',
    });
    expect(result.rows.map((r) => [r.algo, r.seed, r.generation])).toEqual([
      ['remax', 1, '16 x (1 + 1 greedy)'],
    ]);
    expect(result.missing.map((m) => m.slice(out.length + 1))).toEqual([
      'remax-seed2',
      'ppo-seed1',
      'ppo-seed2',
    ]);
    expect(existsSync(join(out, 'ppo-seed1'))).toBe(false);
    expect(result.table).toContain('| remax | 16 x (1 + 1 greedy) | 1 | 0.500 ± 0.000 |');
    expect(existsSync(join(out, 'charts', 'reward.svg'))).toBe(true);
  }, 120_000);
});
