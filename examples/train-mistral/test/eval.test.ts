import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadRunConfig } from '../src/config/load.js';
import { readPromptSource } from '../src/data/prepare.js';
import { evaluatePair, wilsonInterval } from '../src/run/evaluate.js';

const tinyYaml = fileURLToPath(new URL('../configs/tiny.yaml', import.meta.url));

describe('eval', () => {
  it('computes the Wilson interval by the textbook formula', () => {
    // 7 of 10, z = 1.96: centre (0.7 + 0.19208) / 1.38416, half 1.96 * sqrt(0.021 + 0.009604) / 1.38416
    const [lo, hi] = wilsonInterval(7, 10);
    expect(lo).toBeCloseTo(0.3968, 3);
    expect(hi).toBeCloseTo(0.8922, 3);
    expect(wilsonInterval(0, 0)).toEqual([0, 1]);
  });

  it('judges a model against itself as all ties (0.5) and writes AlpacaEval JSON', async () => {
    const { config } = loadRunConfig(tinyYaml, { set: ['data.max_answer_seq=6'] });
    const prompts = (await readPromptSource(config.data.source))
      .slice(0, 6)
      .map((p) => ({ prompt: p.prompt, source: p.source }));
    const outDir = mkdtempSync(join(tmpdir(), 'remax-eval-'));
    const summary = await evaluatePair({
      config,
      policyDir: config.policy.path,
      baselineDir: config.policy.path,
      prompts,
      outDir,
    });
    expect(summary.n).toBe(6);
    expect(summary.ties).toBe(6);
    expect(summary.win_rate).toBe(0.5);
    expect(summary.mean_length_policy).toBe(summary.mean_length_baseline);
    expect(summary.mean_length_policy).toBeGreaterThan(0);
    const alpaca = JSON.parse(readFileSync(join(outDir, 'policy.alpaca_eval.json'), 'utf8')) as {
      instruction: string;
      output: string;
      generator: string;
    }[];
    expect(alpaca).toHaveLength(6);
    expect(Object.keys(alpaca[0] ?? {}).sort()).toEqual(['generator', 'instruction', 'output']);
    expect(alpaca[0]?.instruction).toBe(prompts[0]?.prompt);
    expect(existsSync(join(outDir, 'judgements.jsonl'))).toBe(true);
  });
});
