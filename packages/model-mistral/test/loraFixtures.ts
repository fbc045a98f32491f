import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GoldenCase } from './helpers.js';

const FIXTURES = fileURLToPath(new URL('../../../fixtures/', import.meta.url));

export interface LoraGolden {
  base: string;
  r: number;
  lora_alpha: number;
  use_rslora: boolean;
  scaling: number;
  target_modules: string[];
  cases: (GoldenCase & { base_logsumexp: number[][]; merged_logsumexp: number[][] })[];
  train: {
    input_ids: number[][];
    attention_mask: number[][];
    loss: number;
    grad_l2_norm: Record<string, number>;
    grad_total_l2_norm: number;
    grad_values: Record<string, number[][]>;
  };
  merged: { weight_l2_norm: Record<string, number>; delta_l2_norm: Record<string, number> };
}

/**
 * Every adapter fixture folder (one with adapter_config.json and golden.json) under
 * fixtures/lora and fixtures/unseen, up to three levels deep, so an unseen set dropped
 * in as fixtures/unseen/<name> or fixtures/unseen/lora/<name> is tested too.
 */
export function adapterFixtures(): {
  name: string;
  dir: string;
  baseDir: string;
  golden: LoraGolden;
}[] {
  const out: { name: string; dir: string; baseDir: string; golden: LoraGolden }[] = [];
  const visit = (dir: string, depth: number): void => {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) return;
    if (existsSync(join(dir, 'adapter_config.json')) && existsSync(join(dir, 'golden.json'))) {
      const golden = JSON.parse(readFileSync(join(dir, 'golden.json'), 'utf8')) as LoraGolden;
      out.push({ name: relative(FIXTURES, dir), dir, baseDir: resolve(dir, golden.base), golden });
      return;
    }
    if (depth > 0) for (const n of readdirSync(dir).sort()) visit(join(dir, n), depth - 1);
  };
  for (const root of ['lora', 'unseen']) visit(join(FIXTURES, root), 3);
  return out;
}
