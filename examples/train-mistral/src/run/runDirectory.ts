// What a run directory holds, and the rule that nothing in it is deleted unless asked.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { RemaxError } from '@remax/core';
import YAML from 'yaml';
import { ADAPTERS_DIR } from './adapterSync.js';
import { CHECKPOINTS_DIR } from './checkpoint.js';
import { METRICS_FILE } from './metrics.js';
import { SAMPLES_FILE } from './samples.js';

export const RESOLVED_CONFIG = 'config.yaml';

/** Everything a run writes into its directory (removed by --overwrite). */
const RUN_OUTPUTS = [
  RESOLVED_CONFIG,
  METRICS_FILE,
  SAMPLES_FILE,
  'report.html',
  'charts',
  CHECKPOINTS_DIR,
  ADAPTERS_DIR,
  'final',
  'prompts.train.jsonl',
  'prompts.eval.jsonl',
  'prompts.stats.json',
];

/** True when `runDir` holds (part of) a run: its config, metrics or checkpoints. */
export function holdsRun(runDir: string): boolean {
  return [RESOLVED_CONFIG, METRICS_FILE, CHECKPOINTS_DIR, 'final'].some((name) =>
    existsSync(join(runDir, name)),
  );
}

/**
 * Makes `runDir` ready for a new run. A directory that already holds a run is
 * refused (E_RUN_EXISTS) unless `overwrite`, which removes that run's outputs
 * (and only those) first.
 */
export function prepareNewRunDirectory(runDir: string, overwrite: boolean): void {
  if (holdsRun(runDir)) {
    if (!overwrite) {
      throw new RemaxError('E_RUN_EXISTS', 'the directory already holds a run', {
        file: runDir,
        expected: `--resume ${runDir} to continue it, or --overwrite to delete it and start again`,
      });
    }
    for (const name of RUN_OUTPUTS) rmSync(join(runDir, name), { recursive: true, force: true });
  }
  mkdirSync(runDir, { recursive: true });
}

/** The config a run was started with (its config.yaml), unparsed. */
export function readResolvedConfig(runDir: string): unknown {
  const file = join(runDir, RESOLVED_CONFIG);
  if (!existsSync(file)) {
    throw new RemaxError('E_FILE', 'not a run directory (no config.yaml)', { file });
  }
  try {
    return YAML.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new RemaxError('E_CONFIG', `not valid YAML: ${(cause as Error).message}`, {
      file,
      cause,
    });
  }
}
