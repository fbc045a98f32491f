import {
  type Algorithm,
  type AlgorithmContext,
  type AlgorithmFactory,
  type Experience,
  type OptimizerSettings,
  parseWith,
} from '@remax/core';
import type { z } from 'zod';
import type { MemoryModel } from '../plan/memoryModel.js';
import { isPlainObject, mapKeys, toCamel, toSnake } from './caseKeys.js';
import type { GenerationShape } from './generation.js';
import { optimizerSchema } from './optimizer.js';
import { snakeCaseObject, suppliedKeys } from './snakeSchema.js';

/** The run settings an algorithm's config may take from the rest of the run config, camelCase. */
export interface SharedSettings {
  /** `optim:` with the run's step count. */
  optimizer: OptimizerSettings;
  /** train.micro_batch_size */
  microBatchSize: number;
  /** data.max_answer_seq: the generator's most new tokens per response. */
  maxNewTokens: number;
}

/** What an algorithm tells the example when it registers (its package's factory plus three facts). */
export interface AlgorithmSpec<N extends string, S extends z.ZodObject, E extends Experience> {
  /** `algo:` value and YAML section name; must be the factory's own name. */
  name: N;
  factory: AlgorithmFactory<S, E>;
  /** One line for --help and the docs. */
  summary: string;
  /**
   * Where the shared settings go in the factory's config (camelCase). Keys
   * set here are not part of the YAML section: they are set once, in `optim:`,
   * `train:` or `data:`.
   */
  shared: (run: SharedSettings) => Record<string, unknown>;
  /** The generation shape of a validated config (plan's KV cache, ablate's budget, the report). */
  generation: (config: z.output<S>) => GenerationShape;
  /** Memory beyond the common rows, for `plan`. */
  memory: MemoryModel;
}

/** A registered algorithm, its config types erased behind the methods that use them. */
/** A config problem at a YAML key path (snake_case, from the root of the run config). */
export interface SectionIssue {
  path: (string | number)[];
  message: string;
}

export interface RegisteredAlgorithm<N extends string = string> {
  readonly name: N;
  /** The package's factory (its config type erased: the example passes it composed YAML). */
  readonly factory: AlgorithmFactory;
  readonly summary: string;
  readonly needsCritic: boolean;
  /** The YAML section: the factory's fields under snake_case keys, without the shared ones. */
  readonly section: z.ZodObject;
  readonly memory: MemoryModel;
  /**
   * Validates the factory's config (a YAML section, snake_case, merged with
   * the shared settings) with the package's own schema; returns the problems
   * at their YAML key paths.
   */
  check(section: Record<string, unknown>, run: SharedSettings): SectionIssue[];
  /** The factory's config (camelCase): the section laid over the shared settings, not yet validated. */
  factoryConfig(section: Record<string, unknown>, run: SharedSettings): Record<string, unknown>;
  /** The generation shape of a section (throws the typed config error `check` describes). */
  generation(section: Record<string, unknown>, run: SharedSettings): GenerationShape;
  /** Binds the algorithm to its context (the factory validates the config again). */
  create(
    section: Record<string, unknown>,
    run: SharedSettings,
    context: AlgorithmContext,
  ): Algorithm;
}

/** Shared settings with the section laid over them (the schema keeps the two disjoint). */
function mergeInto(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? mergeInto(b, v) : v;
  }
  return out;
}

/** Settings that only serve to learn which keys `spec.shared` supplies. */
const probe: SharedSettings = {
  optimizer: { ...optimizerSchema.parse({}), totalSteps: 1 },
  microBatchSize: 1,
  maxNewTokens: 1,
};

/** Registers an algorithm: derives its YAML section and typed helpers from the package's factory. */
export function defineAlgorithm<N extends string, S extends z.ZodObject, E extends Experience>(
  spec: AlgorithmSpec<N, S, E>,
): RegisteredAlgorithm<N> {
  const { factory, name } = spec;
  if (factory.name !== name) {
    throw new Error(`algorithm registered as ${name} but its factory is named ${factory.name}`);
  }
  const section = snakeCaseObject(factory.configSchema, suppliedKeys(spec.shared(probe)), name);
  // the factory as the example calls it: with the composed, not yet validated, config
  const erased: AlgorithmFactory = factory;
  const compose = (s: Record<string, unknown>, run: SharedSettings) => {
    const camel = mapKeys(s, toCamel);
    return mergeInto(spec.shared(run), isPlainObject(camel) ? camel : {});
  };
  const check = (s: Record<string, unknown>, run: SharedSettings): SectionIssue[] => {
    const result = factory.configSchema.safeParse(compose(s, run));
    if (result.success) return [];
    // the package names camelCase paths; the config file has them under `name:` in snake_case
    return result.error.issues.map((issue) => ({
      path: [name, ...issue.path.map((k) => (typeof k === 'number' ? k : toSnake(String(k))))],
      message: issue.message,
    }));
  };
  return {
    name,
    factory: erased,
    summary: spec.summary,
    needsCritic: factory.needsCritic,
    section,
    memory: spec.memory,
    check,
    factoryConfig: compose,
    generation(s, run) {
      const composed = compose(s, run);
      return spec.generation(parseWith(factory.configSchema, composed, { what: `${name} config` }));
    },
    create: (s, run, context) => erased.create(compose(s, run), context),
  };
}
