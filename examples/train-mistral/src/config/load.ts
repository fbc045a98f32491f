import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseWith, RemaxError } from '@remax/core';
import YAML from 'yaml';
import { assertLengthsFit } from './modelFit.js';
import { parseSetFlag, resolveKey, setAtPath } from './overrides.js';
import { type AlgoName, type RunConfig, runConfigSchema } from './schema.js';

/** The example's package root (works from src/ and from dist/). */
export const packageRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The embedded default the demo runs. */
export const defaultConfigPath = resolve(packageRoot, 'configs/tiny.yaml');

export interface ConfigOverrides {
  algo?: AlgoName;
  /** `key=value` flags, applied in order after `algo`. */
  set?: readonly string[];
}

export interface LoadedConfig {
  config: RunConfig;
  /** Absolute path of the YAML file. */
  file: string;
}

/**
 * Reads a run config from YAML, applies flag overrides, validates it (unknown
 * keys and bad values throw one RemaxError naming each key) and makes every
 * model and data path absolute, relative to the YAML file's directory.
 */
export function loadRunConfig(file: string, overrides: ConfigOverrides = {}): LoadedConfig {
  const abs = resolve(file);
  if (!existsSync(abs)) {
    throw new RemaxError('E_FILE', 'config file not found', {
      file: abs,
      expected: `a YAML run config, e.g. ${defaultConfigPath}`,
    });
  }
  let raw: unknown;
  try {
    raw = YAML.parse(readFileSync(abs, 'utf8'));
  } catch (cause) {
    throw new RemaxError('E_CONFIG', `not valid YAML: ${(cause as Error).message}`, {
      file: abs,
      cause,
    });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new RemaxError('E_CONFIG', 'a run config must be a YAML mapping', { file: abs });
  }
  const data = raw as Record<string, unknown>;
  if (overrides.algo !== undefined) data['algo'] = overrides.algo;
  const algo = typeof data['algo'] === 'string' ? data['algo'] : undefined;
  for (const flag of overrides.set ?? []) {
    const { key, value } = parseSetFlag(flag);
    setAtPath(data, resolveKey(key, algo), value);
  }
  const config = resolvePaths(
    parseWith(runConfigSchema, data, { file: abs, what: 'run config' }),
    dirname(abs),
  );
  assertLengthsFit(config, abs);
  return { config, file: abs };
}

/** Parses an already-resolved config (e.g. the copy saved in a run directory). */
export function parseRunConfig(data: unknown, file: string): RunConfig {
  return parseWith(runConfigSchema, data, { file, what: 'run config' });
}

function resolvePaths(config: RunConfig, base: string): RunConfig {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  return {
    ...config,
    policy: { ...config.policy, path: abs(config.policy.path) },
    reference: {
      ...config.reference,
      path: config.reference.path === null ? null : abs(config.reference.path),
    },
    reward: { ...config.reward, path: abs(config.reward.path) },
    critic: {
      ...config.critic,
      path: config.critic.path === null ? null : abs(config.critic.path),
    },
    data: {
      ...config.data,
      source: abs(config.data.source),
      chat_template: config.data.chat_template.endsWith('.jinja')
        ? abs(config.data.chat_template)
        : config.data.chat_template,
    },
  };
}

export type RequiredInput = 'policy' | 'reference' | 'reward' | 'critic' | 'data';

/**
 * Checks that every input a command needs is on disk. Nothing downloads at run
 * time: a missing path throws an error saying what to download and where.
 */
export function assertInputsExist(config: RunConfig, needed: readonly RequiredInput[]): void {
  const problems: string[] = [];
  const check = (field: string, path: string | null, hubId: string | null, kind: string) => {
    if (path === null || existsSync(path)) return;
    const what = hubId ?? `the ${kind}`;
    const how =
      kind === 'dataset'
        ? `download ${what} parquet shards (huggingface-cli download ${hubId ?? '<dataset>'} --repo-type dataset --local-dir <dir>) and point ${field} at them, or run prepare-data`
        : `download ${what} into that directory (huggingface-cli download ${hubId ?? '<model id>'} --local-dir ${path})`;
    problems.push(`  - ${field}: ${path} does not exist; ${how}`);
  };
  for (const n of needed) {
    if (n === 'policy') check('policy.path', config.policy.path, config.policy.hub_id, 'model');
    if (n === 'reference')
      check('reference.path', config.reference.path, config.reference.hub_id, 'model');
    if (n === 'reward') check('reward.path', config.reward.path, config.reward.hub_id, 'model');
    if (n === 'critic') check('critic.path', config.critic.path, config.critic.hub_id, 'model');
    if (n === 'data') check('data.source', config.data.source, config.data.hub_id, 'dataset');
  }
  if (problems.length > 0) {
    throw new RemaxError(
      'E_FILE',
      `missing inputs (nothing is downloaded at run time):\n${problems.join('\n')}`,
    );
  }
}
