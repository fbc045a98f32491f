import { fileURLToPath } from 'node:url';
import { isRemaxError } from '@remax/core';
import { describe, expect, it } from 'vitest';
import { loadRunConfig } from '../src/config/load.js';
import { assertLengthsFit } from '../src/config/modelFit.js';
import { resumeConfig } from '../src/config/resume.js';
import { errorOf } from './runHelpers.js';

const tinyYaml = fileURLToPath(new URL('../configs/tiny.yaml', import.meta.url));
const saved = loadRunConfig(tinyYaml).config;

describe('--resume with --set / --algo', () => {
  it('applies the keys a resume may change and reports each change', () => {
    const { config, changes } = resumeConfig(saved, 'run/config.yaml', {
      set: ['train.max_steps=80', 'output.checkpoint_every=5', 'output.report=true'],
    });
    expect(config.train.max_steps).toBe(80);
    expect(config.output.checkpoint_every).toBe(5);
    // output.report was already true: not a change
    expect(changes).toEqual([
      { key: 'train.max_steps', from: 60, to: 80 },
      { key: 'output.checkpoint_every', from: 20, to: 5 },
    ]);
  });

  it('refuses any other key, naming it (bare keys resolved first)', () => {
    for (const [flag, key] of [
      ['optim.lr=1e-3', 'optim.lr'],
      ['kl_ctl=0.5', 'remax.kl_ctl'],
      ['seed=3', 'seed'],
      ['output.dir=elsewhere', 'output.dir'],
    ] as const) {
      const e = errorOf(() => resumeConfig(saved, 'run/config.yaml', { set: [flag] }));
      expect(isRemaxError(e, 'E_CONFIG'), String(e)).toBe(true);
      expect(e.message).toContain(`${key}: this key cannot change on resume`);
    }
  });

  it('refuses another --algo, accepts the same one', () => {
    const e = errorOf(() => resumeConfig(saved, 'run/config.yaml', { algo: 'ppo' }));
    expect(isRemaxError(e, 'E_CONFIG')).toBe(true);
    expect(e.message).toMatch(/--algo: the algorithm cannot change on resume \(got "ppo"\)/);
    expect(resumeConfig(saved, 'run/config.yaml', { algo: 'remax' }).changes).toEqual([]);
  });

  it('validates the changed config (a bad value is a typed error)', () => {
    const e = errorOf(() => resumeConfig(saved, 'run/config.yaml', { set: ['train.max_steps=0'] }));
    expect(isRemaxError(e, 'E_CONFIG')).toBe(true);
    expect(e.message).toMatch(/train\.max_steps/);
  });
});

describe('cross-field config checks', () => {
  it.each([
    [['optim.warmup_steps=61'], /optim\.warmup_steps: warmup longer than the run/],
    [['train.micro_batch_size=5'], /train\.micro_batch_size: must divide train\.batch_size \(16\)/],
    [['data.chat_template=llama-2'], /data\.chat_template/],
  ])('%j is refused', (set, problem) => {
    const e = errorOf(() => loadRunConfig(tinyYaml, { set }));
    expect(isRemaxError(e, 'E_CONFIG'), String(e)).toBe(true);
    expect(e.message).toMatch(problem);
  });

  it('prompt + answer must fit the models positions (the tiny UltraRM has 4096)', () => {
    const set = ['data.max_prompt_seq=4000', 'data.max_answer_seq=200'];
    const e = errorOf(() => loadRunConfig(tinyYaml, { set }));
    expect(isRemaxError(e, 'E_CONFIG')).toBe(true);
    expect(e.message).toContain(tinyYaml);
    expect(e.message).toMatch(
      /data\.max_prompt_seq \+ data\.max_answer_seq: .*reward model's positions \(got 4200\); expected <= 4096/,
    );
    expect(() => assertLengthsFit(saved)).not.toThrow();
  });
});
