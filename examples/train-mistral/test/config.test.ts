import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isRemaxError } from '@remax/core';
import { describe, expect, it } from 'vitest';
import { assertInputsExist, loadRunConfig } from '../src/config/load.js';
import { configKeyPaths, resolveKey } from '../src/config/overrides.js';
import { errorOf } from './runHelpers.js';

const configs = fileURLToPath(new URL('../configs/', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'remax-config-'));
const tinyYaml = join(configs, 'tiny.yaml');

describe('run configs', () => {
  it('loads the three shipped configs', () => {
    for (const name of ['tiny.yaml', 'mistral-7b-remax.yaml', 'mistral-7b-ppo.yaml']) {
      const { config } = loadRunConfig(join(configs, name));
      expect(config.data.max_prompt_seq).toBeGreaterThan(0);
    }
  });

  it('keeps the card values of the 7B ReMax run verbatim', () => {
    const { config } = loadRunConfig(join(configs, 'mistral-7b-remax.yaml'));
    expect(config.algo).toBe('remax');
    expect(config.data.num_prompts).toBe(10000);
    expect(config.data.max_prompt_seq).toBe(384);
    expect(config.data.max_answer_seq).toBe(384);
    expect(config.optim.lr).toBe(5e-7);
    expect(config.train.epochs).toBe(1);
    expect(config.remax).toMatchObject({ kl_penalty: 'full_step', kl_ctl: 0.1, reward_clip: 1.0 });
    expect(config.generation).toMatchObject({ temperature: 0.7, top_p: 0.9 });
    expect(config.policy.hub_id).toBe('mistralai/Mistral-7B-Instruct-v0.2');
    expect(config.reward.hub_id).toBe('openbmb/UltraRM-13b');
  });

  it('resolves model paths relative to the config file, not the cwd', () => {
    const { config } = loadRunConfig(tinyYaml);
    expect(config.policy.path).toBe(
      fileURLToPath(new URL('../../../fixtures/models/tiny-mistral', import.meta.url)),
    );
    expect(() => assertInputsExist(config, ['policy', 'reward', 'data'])).not.toThrow();
  });

  it('rejects an unknown key with one error naming it', () => {
    const file = join(tmp, 'typo.yaml');
    writeFileSync(
      file,
      `${readFileSync(tinyYaml, 'utf8')}\nremax_extra: 1\n`.replace(
        'kl_ctl: 0.1\n  reward_clip: 1.0',
        'kl_ctll: 0.1\n  reward_clip: 1.0',
      ),
    );
    const e = errorOf(() => loadRunConfig(file));
    expect(isRemaxError(e, 'E_CONFIG')).toBe(true);
    expect(e.message).toContain(file);
    expect(e.message).toContain('remax_extra');
    expect(e.message).toContain('kl_ctll');
  });

  it('names the key, the value and what is valid for a bad value', () => {
    const e = errorOf(() => loadRunConfig(tinyYaml, { set: ['generation.top_p=1.5'] }));
    expect(e.message).toMatch(/generation\.top_p: .*\(got 1\.5\)/);
    const e2 = errorOf(() => loadRunConfig(tinyYaml, { set: ['remax.kl_penalty=summed'] }));
    expect(e2.message).toContain('remax.kl_penalty');
    expect(e2.message).toContain('full_step');
  });

  it('applies --algo and --set overrides (bare keys resolve under the active algorithm)', () => {
    const { config } = loadRunConfig(tinyYaml, {
      algo: 'ppo',
      set: ['kl_ctl=0.05', 'optim.lr=1e-4', 'data.filters.languages=[English, German]'],
    });
    expect(config.algo).toBe('ppo');
    expect(config.ppo.kl_ctl).toBe(0.05);
    expect(config.remax.kl_ctl).toBe(0.1);
    expect(config.optim.lr).toBe(1e-4);
    expect(config.data.filters.languages).toEqual(['English', 'German']);
  });

  it('exposes the ReMax KL estimator and adaptive controller, with the algorithm defaults', async () => {
    const { algorithmConfig } = await import('../src/run/algoConfig.js');
    const plain = loadRunConfig(tinyYaml).config;
    expect(plain.remax).toMatchObject({ kl_estimator: 'k1', kl_target: null, kl_horizon: 10000 });
    const { config } = loadRunConfig(tinyYaml, {
      set: ['remax.kl_penalty=sampled', 'kl_estimator=k3', 'kl_target=0.5', 'kl_horizon=200'],
    });
    expect(algorithmConfig(config, 10)).toMatchObject({
      klPenalty: 'sampled',
      klEstimator: 'k3',
      klTarget: 0.5,
      klHorizon: 200,
    });
    const e = errorOf(() => loadRunConfig(tinyYaml, { set: ['remax.kl_estimator=k4'] }));
    expect(e.message).toContain('remax.kl_estimator');
    expect(e.message).toContain('k3');
  });

  it('rejects unknown and malformed --set keys', () => {
    expect(errorOf(() => loadRunConfig(tinyYaml, { set: ['kl_ctrl=1'] })).message).toContain(
      'unknown config key',
    );
    expect(errorOf(() => loadRunConfig(tinyYaml, { set: ['lr'] })).message).toContain('key=value');
    expect(resolveKey('lr', 'remax')).toBe('optim.lr');
    expect(configKeyPaths()).toContain('remax.kl_penalty');
  });

  it('says what to download and where when an input is missing', () => {
    const { config } = loadRunConfig(join(configs, 'mistral-7b-remax.yaml'));
    const e = errorOf(() => assertInputsExist(config, ['policy', 'reward', 'data']));
    expect(isRemaxError(e, 'E_FILE')).toBe(true);
    expect(e.message).toContain('huggingface-cli download mistralai/Mistral-7B-Instruct-v0.2');
    expect(e.message).toContain(config.policy.path);
    expect(e.message).toContain('openbmb/UltraRM-13b');
    expect(e.message).toContain('lmsys/lmsys-chat-1m');
  });
});
