// Adding an algorithm is one registry entry: with a toy entry appended to
// src/algorithms.ts (mocked here), the config, --set, plan and the ablation
// budget know it without any other change.
import { fileURLToPath } from 'node:url';
import {
  type AlgorithmFactory,
  isRemaxError,
  optimizerFields,
  requireTotalSteps,
} from '@remax/core';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';

const ToyConfigSchema = z
  .object({
    groupSize: z.number().int().min(2).default(4),
    scaleRewards: z.enum(['group', 'batch', 'none']).default('group'),
    microBatchSize: z.number().int().positive().default(4),
    ...optimizerFields,
  })
  .strict()
  .superRefine(requireTotalSteps)
  .superRefine((c, ctx) => {
    // a cross-field rule only the package knows
    if (c.scaleRewards === 'none' && c.groupSize > 8)
      ctx.addIssue({
        code: 'custom',
        path: ['scaleRewards'],
        message: 'none needs groupSize <= 8',
      });
  });

const toyAlgorithm: AlgorithmFactory<typeof ToyConfigSchema> = {
  name: 'toy',
  configSchema: ToyConfigSchema,
  needsCritic: false,
  create: () => {
    throw new Error('not run in this test');
  },
};

vi.mock('../src/algorithms.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../src/algorithms.js')>();
  const { defineAlgorithm } = await import('../src/registry/defineAlgorithm.js');
  return {
    algorithms: [
      ...original.algorithms,
      defineAlgorithm({
        name: 'toy',
        factory: toyAlgorithm,
        summary: 'a toy group algorithm',
        shared: (run) => ({ ...run.optimizer, microBatchSize: run.microBatchSize }),
        generation: (c) => ({ samplesPerPrompt: c.groupSize, greedy: false }),
        memory: () => [
          { component: 'toy buffer', params: null, bytes: 123, note: '', phase: 'resident' },
        ],
      }),
    ],
  };
});

const { loadRunConfig } = await import('../src/config/load.js');
const { resolveKey } = await import('../src/config/overrides.js');
const { planRun } = await import('../src/plan/plan.js');
const { algoNames, parseAlgoList } = await import('../src/registry/lookup.js');
const { equalBudgetRuns } = await import('../src/run/ablationBudget.js');

const tinyYaml = fileURLToPath(new URL('../configs/tiny.yaml', import.meta.url));

describe('a new registry entry', () => {
  it('is an algo choice with its own snake_case section and package defaults', () => {
    expect(algoNames).toContain('toy');
    const { config } = loadRunConfig(tinyYaml, { set: ['algo=toy', 'group_size=8'] });
    expect(resolveKey('group_size', 'toy')).toBe('toy.group_size');
    expect(config.algo).toBe('toy');
    // (the section's static type lists only the algorithms this file was compiled with)
    expect(new Map(Object.entries(config)).get('toy')).toEqual({
      group_size: 8,
      scale_rewards: 'group',
    });
  });

  it("fails the package's own cross-field rule at load time, named by the YAML key", () => {
    let message = '';
    try {
      loadRunConfig(tinyYaml, { set: ['toy.group_size=16', 'toy.scale_rewards=none'] });
    } catch (e) {
      expect(isRemaxError(e, 'E_CONFIG')).toBe(true);
      message = (e as Error).message;
    }
    expect(message).toMatch(/toy\.scale_rewards: none needs groupSize <= 8 \(got "none"\)/);
  });

  it("sizes plan's KV cache by its generation shape and adds its memory model", () => {
    const plan = planRun(loadRunConfig(tinyYaml, { set: ['algo=toy'] }).config, 'wasm');
    expect(plan.generation).toBe('16 x 4');
    expect(plan.rows.find((r) => r.component === 'KV cache (generation)')?.note).toMatch(
      /^64 rows/,
    );
    expect(plan.rows.find((r) => r.component === 'toy buffer')?.bytes).toBe(123);
  });

  it('gets its share of an equal generation budget', () => {
    const { config } = loadRunConfig(tinyYaml);
    const runs = equalBudgetRuns(config, parseAlgoList('remax,toy'));
    // ReMax: 16 prompts x (1 + 1 greedy) = 32 responses; toy: 8 prompts x 4
    expect(runs.map((r) => [r.algo, r.promptsPerStep, r.responsesPerStep])).toEqual([
      ['remax', 16, 32],
      ['toy', 8, 32],
    ]);
  });
});
