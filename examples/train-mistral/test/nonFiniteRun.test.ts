// The NaN / Inf policy end to end: a reward model that never gives a finite
// score (remax's registry entry wrapped, as a broken reward server would be).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRemaxError } from '@remax/core';
import { describe, expect, it, vi } from 'vitest';
import { loadRunConfig } from '../src/config/load.js';
import { readMetrics } from '../src/run/metrics.js';
import { train } from '../src/run/train.js';
import { FAST, LONG, tinyYaml } from './runHelpers.js';

vi.mock('../src/algorithms.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../src/algorithms.js')>();
  return {
    algorithms: original.algorithms.map((entry) =>
      entry.name !== 'remax'
        ? entry
        : {
            ...entry,
            create: (...[section, shared, ctx]: Parameters<typeof entry.create>) =>
              entry.create(section, shared, {
                ...ctx,
                reward: async (batch) => {
                  await ctx.reward(batch); // logged as usual; the score is then lost
                  return new Float32Array(batch.inputIds.shape[0]).fill(Number.NaN);
                },
              }),
          },
    ),
  };
});

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `remax-${name}-`));
const { config } = loadRunConfig(tinyYaml, {
  set: [...FAST, 'train.max_steps=4', 'output.checkpoint_every=1'],
});

async function rejection(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as Error,
  );
}

describe('non-finite rewards', () => {
  it(
    'a reward that is never finite: rows masked, updates skipped, E_DIVERGED after train.max_consecutive_skips',
    async () => {
      const runDir = tmp('diverged');
      const error = await rejection(train({ config, progress: false, runDir, log: () => {} }));
      expect(isRemaxError(error, 'E_DIVERGED'), String(error)).toBe(true);
      expect(error.message).toMatch(/3 updates in a row skipped/);
      expect(error.message).toContain(join(runDir, 'checkpoints', 'checkpoint-2'));
      const records = readMetrics(runDir);
      expect(records).toHaveLength(3);
      for (const r of records) {
        expect(r.reward).toBeNull();
        expect(r.algo['reward/nonfinite_rows']).toBe(2);
        expect(r.algo['optim/skipped']).toBe(1);
      }
    },
    LONG,
  );
});
