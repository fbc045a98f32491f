// Every registered algorithm trains through the example's one loop: the
// registry's section, shared settings, generation and critic wiring are enough.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { algorithms } from '../src/algorithms.js';
import { loadRunConfig } from '../src/config/load.js';
import { generationShape } from '../src/registry/lookup.js';
import { readSampleLines } from '../src/report/samples.js';
import { train } from '../src/run/train.js';
import { FAST } from './trainHelpers.js';

const tinyYaml = fileURLToPath(new URL('../configs/tiny.yaml', import.meta.url));

describe('every registered algorithm', () => {
  for (const a of algorithms) {
    it(`${a.name}: one step through train()`, async () => {
      const { config } = loadRunConfig(tinyYaml, {
        set: [`algo=${a.name}`, ...FAST, 'train.max_steps=1', 'output.samples_every=1'],
      });
      const runDir = mkdtempSync(join(tmpdir(), `remax-${a.name}-`));
      const result = await train({ config, runDir, progress: false });
      const [step] = result.records;
      expect(result.records).toHaveLength(1);
      expect(Number.isFinite(step?.reward)).toBe(true);
      expect(Number.isFinite(step?.kl)).toBe(true);
      // a greedy reward exactly when the algorithm decodes a greedy row
      const shape = generationShape(config, a.name);
      expect(step?.greedy_reward === null).toBe(!shape.greedy);
      // samples.jsonl names each sampled row's own prompt (k rows per prompt)
      const sampled = readSampleLines(runDir).filter((l) => l.call === 0);
      const prompts = sampled.map((l) => l.prompt);
      expect(prompts).toHaveLength(2);
      expect(typeof prompts[0]).toBe('string');
      expect(prompts[0] === prompts[1]).toBe(shape.samplesPerPrompt > 1);
    }, 300_000);
  }
});
