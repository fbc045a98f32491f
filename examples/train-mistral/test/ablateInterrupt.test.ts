// Ctrl-C / SIGTERM during an ablation: train() returns 'interrupted' after
// checkpointing its step, and the ablation stops there instead of starting
// the next run (train itself is stubbed: the signal path has its own test).
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { loadRunConfig } from '../src/config/load.js';
import { ablate } from '../src/run/ablate.js';

const calls: string[] = [];
vi.mock('../src/run/train.js', () => ({
  train: async (options: { runDir: string }) => {
    calls.push(options.runDir);
    return { runDir: options.runDir, records: [], stopped: 'interrupted' };
  },
}));

const tinyYaml = fileURLToPath(new URL('../configs/tiny.yaml', import.meta.url));

describe('ablate interrupted', () => {
  it('stops at the interrupted run and says so', async () => {
    const { config } = loadRunConfig(tinyYaml);
    const outDir = mkdtempSync(join(tmpdir(), 'remax-ablate-int-'));
    const { rows, missing } = await ablate({
      config,
      algos: ['remax', 'grpo'],
      seeds: [1, 2],
      outDir,
      progress: false,
    });
    expect(calls).toEqual([join(outDir, 'remax-seed1')]);
    expect(rows).toEqual([]);
    expect(missing).toEqual([join(outDir, 'remax-seed1')]);
    expect(readFileSync(join(outDir, 'ablation.md'), 'utf8')).toContain(
      `interrupted during ${join(outDir, 'remax-seed1')}`,
    );
  });
});
