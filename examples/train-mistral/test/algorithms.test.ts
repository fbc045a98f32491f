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
import { train } from '../src/run/train.js';
import { FAST } from './support/helpers.js';

const tinyYaml = fileURLToPath(new URL('../configs/tiny.yaml', import.meta.url));

describe('every registered algorithm', () => {
  for (const a of algorithms) {
    it(`${a.name}: one step through train()`, async () => {
      const { config } = loadRunConfig(tinyYaml, {
        set: [`algo=${a.name}`, ...FAST, 'train.max_steps=1'],
      });
      const result = await train({
        config,
        runDir: mkdtempSync(join(tmpdir(), `remax-${a.name}-`)),
        progress: false,
      });
      const [step] = result.records;
      expect(result.records).toHaveLength(1);
      expect(Number.isFinite(step?.reward)).toBe(true);
      expect(Number.isFinite(step?.kl)).toBe(true);
      // a greedy reward exactly when the algorithm decodes a greedy row
      const shape = generationShape(config, a.name);
      expect(step?.greedy_reward === null).toBe(!shape.greedy);
    }, 300_000);
  }
});
