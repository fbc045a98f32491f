import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { isRemaxError } from '@remax/core';
import { parseRunConfig } from '../config/load.js';
import type { RunConfig } from '../config/schema.js';
import { formatBytes } from '../plan/plan.js';
import { describeShape } from '../registry/generation.js';
import { type AlgoName, algoNames } from '../registry/lookup.js';
import { writeReport } from '../report/report.js';
import { equalBudgetRuns } from './ablationBudget.js';
import { readMetrics, type StepRecord } from './metrics.js';
import { windowMean } from './runReport.js';
import { RESOLVED_CONFIG, readResolvedConfig, train } from './train.js';

export interface AblationRow {
  algo: AlgoName;
  seed: number;
  /** Prompts x responses per prompt of one step, e.g. `8 x 4`. */
  generation: string;
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
  generation = '',
): AblationRow {
  return {
    algo,
    seed,
    generation,
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

/** The ablation as a markdown table, one row per run. */
export function ablationTable(rows: readonly AblationRow[]): string {
  return [
    '| algo | seed | prompts x responses | steps | final reward | final greedy reward | final KL | response length | s / step | peak tensors | peak RSS |',
    '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.algo} | ${r.seed} | ${r.generation} | ${r.steps} | ${num(r.final_reward)} | ${num(r.final_greedy_reward)} | ${num(r.final_kl)} | ${num(r.response_length, 1)} | ${r.seconds_per_step.toFixed(2)} | ${formatBytes(r.peak_tensor_bytes)} | ${formatBytes(r.peak_rss_bytes)} |`,
    ),
  ].join('\n');
}

/** Mean and sample standard deviation (n - 1) of the non-null values; null when none. */
export function meanSd(values: readonly (number | null)[]): { mean: number; sd: number } | null {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x));
  if (v.length === 0) return null;
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const sd =
    v.length < 2 ? 0 : Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1));
  return { mean, sd };
}

const pm = (s: { mean: number; sd: number } | null, d = 3) =>
  s === null ? 'n/a' : `${s.mean.toFixed(d)} ± ${s.sd.toFixed(d)}`;

/** One row per algorithm: mean ± sd over its seeds ("final" = last 5 steps of each run). */
export function ablationSummary(rows: readonly AblationRow[]): string {
  const algos = [...new Set(rows.map((r) => r.algo))];
  return [
    '| algo | prompts x responses | seeds | final reward | final greedy reward | final KL | s / step | peak tensors |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
    ...algos.map((algo) => {
      const mine = rows.filter((r) => r.algo === algo);
      const peak = Math.max(0, ...mine.map((r) => r.peak_tensor_bytes));
      return `| ${algo} | ${mine[0]?.generation ?? ''} | ${mine.length} | ${pm(meanSd(mine.map((r) => r.final_reward)))} | ${pm(meanSd(mine.map((r) => r.final_greedy_reward)))} | ${pm(meanSd(mine.map((r) => r.final_kl)))} | ${pm(meanSd(mine.map((r) => r.seconds_per_step)), 2)} | ${formatBytes(peak)} |`;
    }),
  ].join('\n');
}

/** Step-wise mean over the runs of one algorithm (its seeds): one overlaid curve per algorithm. */
export function meanOverSeeds(runs: readonly (readonly StepRecord[])[]): StepRecord[] {
  const steps = Math.min(...runs.map((r) => r.length));
  const out: StepRecord[] = [];
  for (let i = 0; i < steps; i++) {
    const at = runs.flatMap((r) => r.slice(i, i + 1));
    const first = at[0];
    if (first === undefined) break;
    const avg = (f: (r: StepRecord) => number | null) => meanSd(at.map(f))?.mean ?? null;
    out.push({
      ...first,
      reward: avg((r) => r.reward),
      greedy_reward: avg((r) => r.greedy_reward),
      kl: avg((r) => r.kl),
      response_length: avg((r) => r.response_length),
      lr: avg((r) => r.lr),
      tokens_per_s: avg((r) => r.tokens_per_s) ?? 0,
      seconds: avg((r) => r.seconds) ?? 0,
      peak_tensor_bytes: Math.max(...at.map((r) => r.peak_tensor_bytes)),
      rss_bytes: Math.max(...at.map((r) => r.rss_bytes)),
      algo: {},
    });
  }
  return out;
}

/** The part of a run config that decides the run (the other algorithms' sections do not). */
export function runIdentity(config: RunConfig): Record<string, unknown> {
  const others = algoNames.filter((n) => n !== config.algo);
  return Object.fromEntries(
    Object.entries(config).filter(([key]) => !others.some((n) => n === key)),
  );
}

/** The records of a finished run in `runDir` made from the same config, else null. */
export function finishedRun(runDir: string, config: RunConfig): StepRecord[] | null {
  if (!existsSync(join(runDir, 'final')) || !existsSync(join(runDir, RESOLVED_CONFIG))) return null;
  let saved: RunConfig;
  try {
    saved = parseRunConfig(readResolvedConfig(runDir), join(runDir, RESOLVED_CONFIG));
  } catch (e) {
    if (isRemaxError(e)) return null; // written by another version of the config schema
    throw e;
  }
  return isDeepStrictEqual(runIdentity(saved), runIdentity(config)) ? readMetrics(runDir) : null;
}

/**
 * Runs the config under each algorithm and seed at one generation budget
 * (equalBudgetRuns; one run directory each), then writes ablation.md (the
 * per-algorithm summary and every run), ablation.json and report.html with
 * one curve per algorithm (the mean over its seeds).
 */
export async function ablate(options: {
  config: RunConfig;
  algos: readonly AlgoName[];
  seeds: readonly number[];
  outDir: string;
  /** Responses generated per step by every algorithm (default: what the config's algorithm generates). */
  responsesPerStep?: number;
  /**
   * Finished runs of the same config in outDir: trained again ('retrain', the
   * default), kept ('reuse': an interrupted ablation continues), or the only
   * runs reported ('only': nothing trains; missing runs are listed).
   */
  existing?: 'retrain' | 'reuse' | 'only';
  /** Delete earlier runs in outDir (without it, an existing run is E_RUN_EXISTS). */
  overwrite?: boolean;
  progress?: boolean;
}): Promise<{ rows: AblationRow[]; table: string; missing: string[] }> {
  const existing = options.existing ?? 'retrain';
  mkdirSync(options.outDir, { recursive: true });
  const runs = equalBudgetRuns(options.config, options.algos, options.responsesPerStep);
  const rows: AblationRow[] = [];
  const series: { label: string; records: StepRecord[] }[] = [];
  const missing: string[] = [];
  // Ctrl-C / SIGTERM stop the run in progress (checkpointed) and the whole ablation
  let interrupted: string | null = null;
  for (const run of runs) {
    if (interrupted) break;
    const generation = describeShape(run.promptsPerStep, run.shape);
    const perSeed: StepRecord[][] = [];
    for (const seed of options.seeds) {
      const config: RunConfig = {
        ...run.config,
        seed,
        output: { ...run.config.output, report: true },
      };
      const runDir = join(options.outDir, `${run.algo}-seed${seed}`);
      const kept = existing === 'retrain' ? null : finishedRun(runDir, config);
      if (kept === null && existing === 'only') {
        missing.push(runDir);
        continue;
      }
      const result = kept
        ? { records: kept, stopped: 'done' }
        : await train({
            config,
            runDir,
            overwrite: options.overwrite === true,
            ...(options.progress === undefined ? {} : { progress: options.progress }),
          });
      if (result.stopped === 'interrupted') {
        interrupted = runDir;
        missing.push(runDir);
        break;
      }
      const records = result.records;
      rows.push(ablationRow(run.algo, seed, records, generation));
      perSeed.push(records);
    }
    if (perSeed.length > 0)
      series.push({ label: `${run.algo} (${generation})`, records: meanOverSeeds(perSeed) });
  }
  const budget = runs[0]?.responsesPerStep ?? 0;
  const table = [
    `${budget} responses per step for every algorithm; mean ± sd over the seeds of ${options.seeds.join(', ')} each algorithm finished`,
    ...(interrupted ? ['', `interrupted during ${interrupted}: the ablation stopped there`] : []),
    ...(missing.length > 0 ? ['', `not run: ${missing.join(', ')}`] : []),
    '',
    ablationSummary(rows),
    '',
    ablationTable(rows),
  ].join('\n');
  writeFileSync(join(options.outDir, 'ablation.md'), `${table}\n`);
  writeFileSync(join(options.outDir, 'ablation.json'), JSON.stringify(rows, null, 2));
  await writeReport(options.outDir, {
    title: `ablation at ${budget} responses per step: ${options.algos.join(' vs ')}, mean over seeds ${options.seeds.join(', ')}`,
    series,
    summary: {
      algos: options.algos.join(', '),
      seeds: options.seeds.join(', '),
      'responses per step': budget,
    },
    samples: [],
  });
  return { rows, table, missing };
}
