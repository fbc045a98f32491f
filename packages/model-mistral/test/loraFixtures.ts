import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
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

/** Every adapter fixture folder: fixtures/lora/* and any unseen one (fixtures/unseen/*) with an adapter_config.json. */
export function adapterFixtures(): {
  name: string;
  dir: string;
  baseDir: string;
  golden: LoraGolden;
}[] {
  const roots = [join(FIXTURES, 'lora'), join(FIXTURES, 'unseen')];
  const out = [];
  for (const root of roots) {
    if (!existsSync(root)) continue;
    for (const name of readdirSync(root).sort()) {
      const dir = join(root, name);
      if (!existsSync(join(dir, 'adapter_config.json'))) continue;
      const golden = JSON.parse(readFileSync(join(dir, 'golden.json'), 'utf8')) as LoraGolden;
      out.push({ name, dir, baseDir: resolve(dir, golden.base), golden });
    }
  }
  return out;
}
