// The fault corpus (faults/ at the repository root): every file gives the typed
// error faults/faults.json says it must, naming the file.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isRemaxError } from '@remax/core';
import { openCheckpoint } from '@remax/safetensors';
import { describe, expect, it } from 'vitest';
import { loadRunConfig } from '../src/config/load.js';
import { assertLengthsFit } from '../src/config/modelFit.js';
import { readPromptSource, selectPrompts } from '../src/data/prepare.js';
import { requireEnoughPrompts } from '../src/data/promptChecks.js';
import { readTrainerState } from '../src/run/checkpoint.js';
import { readMetrics } from '../src/run/metrics.js';
import { packageDir } from './runHelpers.js';

const faultsDir = join(packageDir, '..', '..', 'faults');
interface Fault {
  path: string;
  reader: keyof typeof READERS;
  /** null: no error, a warning matching `message` instead. */
  code: string | null;
  message: string;
}
const { faults } = JSON.parse(readFileSync(join(faultsDir, 'faults.json'), 'utf8')) as {
  faults: Fault[];
};

const READERS = {
  prompts: async (file: string) => readPromptSource(file),
  'prompt-set': async (file: string) => {
    const candidates = await readPromptSource(file);
    const { prompts, stats } = selectPrompts(candidates, {
      filters: loadRunConfig(join(packageDir, 'configs/tiny.yaml')).config.data.filters,
      promptLength: (p) => p.length,
      maxPromptSeq: 1000,
      seed: 1,
      count: 10,
    });
    requireEnoughPrompts(prompts.length, stats, { source: file, needed: 1, what: 'one batch' });
  },
  config: async (file: string) => assertLengthsFit(loadRunConfig(file).config),
  metrics: async (file: string, warn: (m: string) => void) =>
    readMetrics(dirname(file), { onWarning: warn }),
  'trainer-state': async (file: string) => readTrainerState(dirname(file)),
  weights: async (file: string) => {
    const ckpt = await openCheckpoint(file);
    try {
      for (const name of ckpt.names()) await ckpt.read(name);
    } finally {
      await ckpt.close();
    }
  },
} as const;

describe('fault corpus', () => {
  it.each(faults.map((f) => [f.path, f] as const))('%s', async (_path, fault) => {
    const file = join(faultsDir, fault.path);
    const warnings: string[] = [];
    const error = await READERS[fault.reader](file, (m) => warnings.push(m)).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (fault.code === null) {
      expect(error).toBeUndefined();
      expect(warnings.join('\n')).toMatch(new RegExp(fault.message));
      return;
    }
    expect(isRemaxError(error), String(error)).toBe(true);
    expect((error as { code: string }).code).toBe(fault.code);
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toMatch(new RegExp(fault.message));
  });
});
