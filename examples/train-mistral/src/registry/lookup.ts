import { type Algorithm, type AlgorithmContext, parseWith, RemaxError } from '@remax/core';
import { algorithms } from '../algorithms.js';
import type { RunConfig } from '../config/schema.js';
import { mapKeys, toCamel } from './caseKeys.js';
import type { RegisteredAlgorithm, SharedSettings } from './defineAlgorithm.js';
import type { GenerationShape } from './generation.js';
import { optimizerSchema } from './optimizer.js';

/** A registered algorithm's name: the values `algo:`, `--algo` and `--algos` accept. */
export type AlgoName = (typeof algorithms)[number]['name'];

export const algoNames: AlgoName[] = algorithms.map((a) => a.name);

export function isAlgoName(name: string): name is AlgoName {
  return algoNames.some((n) => n === name);
}

/** The registered algorithm called `name`, or a typed error listing the registered names. */
export function algorithmNamed(name: string, field = 'algo'): RegisteredAlgorithm<AlgoName> {
  const found = algorithms.find((a) => a.name === name);
  if (found === undefined) {
    throw new RemaxError('E_CONFIG', 'unknown algorithm', {
      field,
      value: name,
      expected: `one of the registered algorithms: ${algoNames.join(', ')}`,
    });
  }
  return found;
}

/** `remax,ppo` -> its names, each registered, none twice. */
export function parseAlgoList(list: string, field = '--algos'): AlgoName[] {
  const names = list.split(',').map((s) => s.trim());
  const out: AlgoName[] = [];
  for (const n of names) {
    const a = algorithmNamed(n, field);
    if (out.includes(a.name)) {
      throw new RemaxError('E_CONFIG', 'algorithm listed twice', {
        field,
        value: list,
        expected: `each of ${algoNames.join(', ')} at most once`,
      });
    }
    out.push(a.name);
  }
  return out;
}

/** The settings every algorithm shares, camelCase, from a validated run config. */
export function sharedSettings(config: RunConfig, totalSteps: number): SharedSettings {
  const optimizer = parseWith(optimizerSchema, mapKeys(config.optim, toCamel), { what: 'optim' });
  return {
    optimizer: { ...optimizer, totalSteps },
    microBatchSize: config.train.micro_batch_size,
    maxNewTokens: config.data.max_answer_seq,
  };
}

/** The algorithm's own section of a validated run config (snake_case, the package's defaults applied). */
export function algorithmSection(config: RunConfig, name: AlgoName): Record<string, unknown> {
  return config[name];
}

/** The configured algorithm bound to its context, configured for a run of `totalSteps` steps. */
export function createAlgorithm(
  config: RunConfig,
  totalSteps: number,
  context: AlgorithmContext,
): Algorithm {
  const a = algorithmNamed(config.algo);
  return a.create(config[a.name], sharedSettings(config, totalSteps), context);
}

/** What an algorithm generates per prompt under a run config (from its own section). */
export function generationShape(config: RunConfig, algo: AlgoName): GenerationShape {
  return algorithmNamed(algo).generation(
    config[algo],
    sharedSettings(config, config.train.max_steps ?? 1),
  );
}
