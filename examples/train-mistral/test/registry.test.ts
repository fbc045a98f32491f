import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ppoAlgorithm } from '@remax/algo-ppo-baseline';
import { remaxAlgorithm } from '@remax/algo-remax';
import { isRemaxError, optimizerFields } from '@remax/core';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { z } from 'zod';
import { algorithms } from '../src/algorithms.js';
import { loadRunConfig, parseRunConfig } from '../src/config/load.js';
import { planRun } from '../src/plan/plan.js';
import { mapKeys, toCamel, toSnake } from '../src/registry/caseKeys.js';
import {
  algoNames,
  algorithmNamed,
  generationShape,
  parseAlgoList,
  sharedSettings,
} from '../src/registry/lookup.js';
import { snakeCaseObject } from '../src/registry/snakeSchema.js';
import { equalBudgetRuns } from '../src/run/ablationBudget.js';
import { errorOf } from './support/helpers.js';

const tinyYaml = fileURLToPath(new URL('../configs/tiny.yaml', import.meta.url));
const ppoYaml = fileURLToPath(new URL('../configs/mistral-7b-ppo.yaml', import.meta.url));

describe('snake_case <-> camelCase', () => {
  it('maps keys both ways, recursively, leaving values and arrays alone', () => {
    expect(toSnake('cliprangeValue')).toBe('cliprange_value');
    expect(toCamel('cliprange_value')).toBe('cliprangeValue');
    expect(mapKeys({ klCtl: 1, critic: { weightDecay: 0 }, betas: [0.9, 0.95] }, toSnake)).toEqual({
      kl_ctl: 1,
      critic: { weight_decay: 0 },
      betas: [0.9, 0.95],
    });
  });

  it("rebuilds a package schema under snake_case keys with the package's defaults", () => {
    const pkg = z
      .object({
        groupSize: z.number().int().positive().default(4),
        microBatchSize: z.number().default(4),
        refModel: z
          .object({ syncEvery: z.number().default(1), lr: z.number().default(1) })
          .strict()
          .prefault({ lr: 5 }),
      })
      .strict();
    const yaml = snakeCaseObject(pkg, { microBatchSize: true });
    expect(Object.keys(yaml.shape)).toEqual(['group_size', 'ref_model']);
    // the package's default for the nested object as a whole, not the field's
    expect(yaml.parse({})).toEqual({ group_size: 4, ref_model: { sync_every: 1, lr: 5 } });
    expect(yaml.parse({ ref_model: {} })).toEqual({
      group_size: 4,
      ref_model: { sync_every: 1, lr: 1 },
    });
    // a camelCase key in YAML is unknown, not silently mapped
    expect(yaml.safeParse({ groupSize: 2 }).success).toBe(false);
    expect(yaml.safeParse({ micro_batch_size: 2 }).success).toBe(false);
    expect(yaml.safeParse({ group_size: 0 }).success).toBe(false);
  });
});

describe('the registry', () => {
  it("registers each algorithm under its factory's own name", () => {
    expect(algoNames).toEqual(algorithms.map((a) => a.name));
    expect(algorithmNamed('remax').factory).toBe(remaxAlgorithm);
    expect(algorithmNamed('ppo').needsCritic).toBe(ppoAlgorithm.needsCritic);
    for (const a of algorithms) expect(a.factory.name).toBe(a.name);
    expect(new Set(algoNames).size).toBe(algoNames.length);
  });

  it('names the registered algorithms when one is unknown (config, --algos, lookup)', () => {
    const lookup = errorOf(() => algorithmNamed('a2c'));
    expect(isRemaxError(lookup, 'E_CONFIG')).toBe(true);
    for (const n of algoNames) expect(lookup.message).toContain(n);
    const list = errorOf(() => parseAlgoList('remax,a2c'));
    expect(isRemaxError(list, 'E_CONFIG')).toBe(true);
    expect(list.message).toContain('--algos');
    expect(list.message).toContain('a2c');
    expect(errorOf(() => parseAlgoList('remax,remax')).message).toContain('twice');
    const config = errorOf(() => loadRunConfig(tinyYaml, { set: ['algo=a2c'] }));
    expect(isRemaxError(config, 'E_CONFIG')).toBe(true);
    for (const n of algoNames) expect(config.message).toContain(`"${n}"`);
  });

  it('gives the CLI its choices', () => {
    const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
    let stderr = '';
    try {
      execFileSync(
        process.execPath,
        ['--conditions=@remax/source', '--import', 'tsx', cli, 'plan', '--algo', 'a2c'],
        { encoding: 'utf8', stdio: 'pipe', timeout: 60_000 },
      );
    } catch (e) {
      stderr = String((e as { stderr?: string }).stderr);
    }
    expect(stderr).toContain(`Allowed choices are ${algoNames.join(', ')}`);
  }, 90_000);

  it('loads every shipped config (their sections are the registry-derived ones)', () => {
    const dir = fileURLToPath(new URL('../configs/', import.meta.url));
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const f of files) expect(loadRunConfig(join(dir, f)).config.seed).toBeGreaterThan(0);
  });

  it('round-trips every YAML section: snake_case in, package defaults applied, snake_case out', () => {
    const { config } = loadRunConfig(tinyYaml);
    const run = sharedSettings(config, 60);
    for (const a of algorithms) {
      const section = config[a.name];
      for (const key of Object.keys(mapKeys(section, toSnake) as object))
        expect(Object.keys(section)).toContain(key);
      // what the package parses is the section (camelCase) plus the shared settings
      const parsed = a.factoryConfig(section, run);
      const back = mapKeys(a.factory.configSchema.parse(parsed), toSnake) as Record<
        string,
        unknown
      >;
      for (const [k, v] of Object.entries(section)) {
        if (typeof v === 'object' && v !== null && !Array.isArray(v))
          expect(back[k]).toMatchObject(v);
        else expect(back[k]).toEqual(v);
      }
    }
    // the resolved config a run directory keeps parses back to the same config
    const again = parseRunConfig(YAML.parse(YAML.stringify(config)), 'config.yaml');
    expect(again).toEqual(config);
  });

  it('takes every optimizer default from @remax/core, once', () => {
    const { config } = loadRunConfig(tinyYaml);
    const core = z.object(optimizerFields).parse({});
    const bare = YAML.parse(YAML.stringify({ ...config, optim: { lr: 1e-4 } }));
    const parsed = parseRunConfig(bare, 'bare.yaml');
    const { total_steps: _, ...coreSnake } = mapKeys(core, toSnake) as Record<string, unknown>;
    expect(parsed.optim).toEqual({ ...coreSnake, lr: 1e-4 });
    const run = sharedSettings(parsed, 7);
    expect(run.optimizer).toEqual({ ...core, lr: 1e-4, totalSteps: 7 });
    // PPO's actor takes optim whole; its critic only the schedule, warmup and clipping
    const ppo = algorithmNamed('ppo').factoryConfig(parsed.ppo, run);
    expect(ppo['actor']).toEqual(run.optimizer);
    expect(ppo['critic']).toMatchObject({ schedule: run.optimizer.schedule, totalSteps: 7 });
  });

  it('rejects shared keys inside an algorithm section, naming them', () => {
    const e = errorOf(() => loadRunConfig(tinyYaml, { set: ['remax.lr=0.1'] }));
    expect(e.message).toContain('remax.lr');
    const nested = errorOf(() =>
      parseRunConfig(
        {
          ...YAML.parse(YAML.stringify(loadRunConfig(tinyYaml).config)),
          ppo: { critic: { schedule: 'cosine' } },
        },
        'x.yaml',
      ),
    );
    expect(nested.message).toContain('ppo.critic');
    expect(nested.message).toContain('schedule');
  });

  it('supplies GRPO its dr_grpo normaliser from data.max_answer_seq, not from its section', () => {
    const { config } = loadRunConfig(tinyYaml, { set: ['data.max_answer_seq=7'] });
    expect(Object.keys(config.grpo)).not.toContain('max_completion_length');
    const grpo = algorithmNamed('grpo');
    expect(grpo.factoryConfig(config.grpo, sharedSettings(config, 1))).toMatchObject({
      maxCompletionLength: 7,
      numGenerations: 4,
    });
    expect(
      errorOf(() => loadRunConfig(tinyYaml, { set: ['grpo.max_completion_length=9'] })).message,
    ).toContain('grpo.max_completion_length');
  });

  it("gives plan each algorithm's generation shape and memory model", () => {
    const remax = planRun(loadRunConfig(tinyYaml).config, 'wasm');
    const ppo = planRun(loadRunConfig(tinyYaml, { algo: 'ppo' }).config, 'wasm');
    const kv = (p: typeof remax) => p.rows.find((r) => r.component === 'KV cache (generation)');
    // 16 prompts: ReMax decodes 32 rows (sampled + greedy), PPO 16
    expect(kv(remax)?.note).toMatch(/^32 rows/);
    expect(kv(ppo)?.note).toMatch(/^16 rows/);
    expect(kv(remax)?.bytes).toBe(2 * (kv(ppo)?.bytes ?? 0));
    expect(remax.rows.map((r) => r.component)).not.toContain('critic weights');
    expect(ppo.rows.filter((r) => r.component.startsWith('critic')).map((r) => r.phase)).toEqual([
      'resident',
      'resident',
      'resident',
      'training',
    ]);
    expect(remax.generation).toBe('16 x (1 + 1 greedy)');
    expect(generationShape(loadRunConfig(ppoYaml).config, 'ppo')).toEqual({
      samplesPerPrompt: 1,
      greedy: false,
    });
  });

  it('gives every algorithm of an ablation the same responses per step and the same steps', () => {
    const { config } = loadRunConfig(tinyYaml);
    const runs = equalBudgetRuns(config, ['remax', 'ppo', 'grpo', 'rloo', 'reinforce_pp']);
    expect(runs.map((r) => [r.algo, r.promptsPerStep, r.responsesPerStep])).toEqual([
      ['remax', 16, 32],
      ['ppo', 32, 32],
      ['grpo', 8, 32],
      ['rloo', 8, 32],
      ['reinforce_pp', 8, 32],
    ]);
    // 160 prompts: ReMax 10 steps an epoch (6 epochs), PPO 5 (12), the k = 4 ones 20 (3); all 60 steps
    expect(runs.map((r) => [r.config.train.epochs, r.config.train.max_steps])).toEqual([
      [6, 60],
      [12, 60],
      [3, 60],
      [3, 60],
      [3, 60],
    ]);
    expect(runs.every((r) => r.config.algo === r.algo)).toBe(true);
    const odd = errorOf(() => equalBudgetRuns(config, ['remax', 'ppo'], 33));
    expect(isRemaxError(odd, 'E_CONFIG')).toBe(true);
    expect(odd.message).toContain('a multiple of 2');
  });
});
