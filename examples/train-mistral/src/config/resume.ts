// The config of a resumed run: the one saved in its directory, plus the few
// `--set` changes that cannot break the continuation. Nothing is ignored: any
// other key (or another --algo) is refused naming it.
import { RemaxError } from '@remax/core';
import { parseRunConfig } from './load.js';
import { parseSetFlag, resolveKey, setAtPath } from './overrides.js';
import type { AlgoName, RunConfig } from './schema.js';

/**
 * Keys a resume may change: how long to go on and what is written, not how
 * steps are made. Every `output.*` key but `output.dir` (the run directory is
 * --resume's argument).
 */
const RESUMABLE_TRAIN = ['train.max_steps', 'train.epochs', 'train.max_consecutive_skips'];
const resumable = (path: string) =>
  RESUMABLE_TRAIN.includes(path) || (path.startsWith('output.') && path !== 'output.dir');

export interface ConfigChange {
  key: string;
  from: unknown;
  to: unknown;
}

function getAtPath(data: unknown, path: string): unknown {
  let cur = data;
  for (const k of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

/**
 * Applies resume-time overrides to a run's saved config (`saved`, as parsed
 * from its config.yaml at `file`). Returns the config and the changes made.
 */
export function resumeConfig(
  saved: unknown,
  file: string,
  overrides: { set?: readonly string[]; algo?: AlgoName | undefined },
): { config: RunConfig; changes: ConfigChange[] } {
  const before = parseRunConfig(saved, file);
  if (overrides.algo !== undefined && overrides.algo !== before.algo) {
    throw new RemaxError('E_CONFIG', 'the algorithm cannot change on resume', {
      field: '--algo',
      value: overrides.algo,
      expected: `${before.algo} (the run's algorithm), or a new run in another directory`,
    });
  }
  const data = structuredClone(before) as unknown as Record<string, unknown>;
  const keys: string[] = [];
  for (const flag of overrides.set ?? []) {
    const { key, value } = parseSetFlag(flag);
    const path = resolveKey(key, before.algo);
    if (!resumable(path)) {
      throw new RemaxError('E_CONFIG', 'this key cannot change on resume', {
        field: path,
        value,
        expected: `one of ${RESUMABLE_TRAIN.join(', ')}, output.* but output.dir; start a new run to change ${path}`,
      });
    }
    setAtPath(data, path, value);
    keys.push(path);
  }
  const config = parseRunConfig(data, `${file} (with --set)`);
  const changes = [...new Set(keys)]
    .map((key) => ({ key, from: getAtPath(before, key), to: getAtPath(config, key) }))
    .filter((c) => JSON.stringify(c.from) !== JSON.stringify(c.to));
  return { config, changes };
}
