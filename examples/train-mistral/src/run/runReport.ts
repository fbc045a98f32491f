import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunConfig } from '../config/schema.js';
import { type Sample, writeReport } from '../report/report.js';
import type { StepRecord } from './metrics.js';

function mean(xs: readonly (number | null)[]): number | null {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  return v.length === 0 ? null : v.reduce((a, b) => a + b, 0) / v.length;
}

/** Mean of a headline field over the first / last `n` steps (smooths one noisy batch). */
export function windowMean(
  records: readonly StepRecord[],
  field: 'reward' | 'greedy_reward' | 'kl' | 'response_length',
  where: 'first' | 'last',
  n = 5,
): number | null {
  const part = where === 'first' ? records.slice(0, n) : records.slice(-n);
  return mean(part.map((r) => r[field]));
}

const show = (v: number | null) => (v === null ? '-' : v.toFixed(4));

/** report.html + charts for one run directory. */
export async function writeRunReport(
  runDir: string,
  config: RunConfig,
  records: readonly StepRecord[],
): Promise<string> {
  const samplesFile = join(runDir, 'samples.jsonl');
  const samples: Sample[] = existsSync(samplesFile)
    ? readFileSync(samplesFile, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map(
          (l) =>
            JSON.parse(l) as {
              step: number;
              call: number;
              text: string;
              prompt: string | null;
              reward: number;
            },
        )
        .filter((s) => s.call === 0)
        .slice(-10)
        .map((s) => ({ step: s.step, prompt: s.prompt ?? '', response: s.text, reward: s.reward }))
    : [];
  return writeReport(runDir, {
    title: `${config.algo} run: ${runDir}`,
    series: [{ label: config.algo, records }],
    summary: {
      algo: config.algo,
      policy: config.policy.path,
      reward_model: config.reward.path,
      steps: records.length,
      'reward (first 5 steps)': show(windowMean(records, 'reward', 'first')),
      'reward (last 5 steps)': show(windowMean(records, 'reward', 'last')),
      'greedy reward (first 5)': show(windowMean(records, 'greedy_reward', 'first')),
      'greedy reward (last 5)': show(windowMean(records, 'greedy_reward', 'last')),
      'KL (last 5)': show(windowMean(records, 'kl', 'last')),
      'seconds per step': show(mean(records.map((r) => r.seconds))),
    },
    samples,
  });
}
