import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AlgorithmFactory } from '@remax/core';
import type { AlgoName, RunConfig } from '../config/schema.js';
import { formatBytes } from '../plan/plan.js';
import { writeReport } from '../report/report.js';
import type { StepRecord } from './metrics.js';
import { windowMean } from './runReport.js';
import { train } from './train.js';

export interface AblationRow {
  algo: AlgoName;
  seed: number;
  steps: number;
  final_reward: number | null;
  final_greedy_reward: number | null;
  final_kl: number | null;
  response_length: number | null;
  seconds_per_step: number;
  peak_tensor_bytes: number;
  peak_rss_bytes: number;
}

/** Summarises one run: "final" values are means over the last 5 steps (one batch is noisy). */
export function ablationRow(
  algo: AlgoName,
  seed: number,
  records: readonly StepRecord[],
): AblationRow {
  return {
    algo,
    seed,
    steps: records.length,
    final_reward: windowMean(records, 'reward', 'last'),
    final_greedy_reward: windowMean(records, 'greedy_reward', 'last'),
    final_kl: windowMean(records, 'kl', 'last'),
    response_length: windowMean(records, 'response_length', 'last'),
    seconds_per_step: records.reduce((s, r) => s + r.seconds, 0) / Math.max(1, records.length),
    peak_tensor_bytes: Math.max(0, ...records.map((r) => r.peak_tensor_bytes)),
    peak_rss_bytes: Math.max(0, ...records.map((r) => r.rss_bytes)),
  };
}

const num = (v: number | null, d = 4) => (v === null ? 'n/a' : v.toFixed(d));

/** The ablation as a markdown table. */
export function ablationTable(rows: readonly AblationRow[]): string {
  return [
    '| algo | seed | steps | final reward | final greedy reward | final KL | response length | s / step | peak tensors | peak RSS |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.algo} | ${r.seed} | ${r.steps} | ${num(r.final_reward)} | ${num(r.final_greedy_reward)} | ${num(r.final_kl)} | ${num(r.response_length, 1)} | ${r.seconds_per_step.toFixed(2)} | ${formatBytes(r.peak_tensor_bytes)} | ${formatBytes(r.peak_rss_bytes)} |`,
    ),
  ].join('\n');
}

/**
 * Runs the same config under each algorithm and seed (one run directory
 * each), then writes ablation.md and overlaid charts in report.html.
 */
export async function ablate(options: {
  config: RunConfig;
  factories: Partial<Record<AlgoName, AlgorithmFactory>>;
  algos: readonly AlgoName[];
  seeds: readonly number[];
  outDir: string;
  /** Delete earlier runs in outDir (without it, an existing run is E_RUN_EXISTS). */
  overwrite?: boolean;
  progress?: boolean;
}): Promise<{ rows: AblationRow[]; table: string }> {
  mkdirSync(options.outDir, { recursive: true });
  const rows: AblationRow[] = [];
  const series: { label: string; records: StepRecord[] }[] = [];
  for (const algo of options.algos) {
    for (const seed of options.seeds) {
      const config: RunConfig = {
        ...options.config,
        algo,
        seed,
        output: { ...options.config.output, report: true },
      };
      const result = await train({
        config,
        factories: options.factories,
        runDir: join(options.outDir, `${algo}-seed${seed}`),
        overwrite: options.overwrite === true,
        ...(options.progress === undefined ? {} : { progress: options.progress }),
      });
      rows.push(ablationRow(algo, seed, result.records));
      series.push({ label: `${algo} seed ${seed}`, records: result.records });
    }
  }
  const table = ablationTable(rows);
  writeFileSync(join(options.outDir, 'ablation.md'), `${table}\n`);
  writeFileSync(join(options.outDir, 'ablation.json'), JSON.stringify(rows, null, 2));
  await writeReport(options.outDir, {
    title: `ablation: ${options.algos.join(' vs ')}, seeds ${options.seeds.join(', ')}`,
    series,
    summary: { algos: options.algos.join(', '), seeds: options.seeds.join(', ') },
    samples: [],
  });
  return { rows, table };
}
