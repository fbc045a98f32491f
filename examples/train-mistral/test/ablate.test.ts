import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { loadRunConfig } from '../src/config/load.js';
import { finishedRun } from '../src/run/ablate.js';
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
