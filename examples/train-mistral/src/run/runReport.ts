import type { RunConfig } from '../config/schema.js';
import { describeShape } from '../registry/generation.js';
import { algorithmNamed, generationShape } from '../registry/lookup.js';
import { writeReport } from '../report/report.js';
import { readSampleLines, reportSamples } from '../report/samples.js';
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
  const shape = generationShape(config, config.algo);
  const samples = reportSamples(readSampleLines(runDir), shape);
  return writeReport(runDir, {
    title: `${config.algo} run: ${runDir}`,
    series: [{ label: config.algo, records }],
    summary: {
      algo: config.algo,
      'prompts x responses per step': describeShape(config.train.batch_size, shape),
      policy: config.policy.path,
      reward_model: config.reward.path,
      ...(algorithmNamed(config.algo).needsCritic
        ? { critic: config.critic.path ?? `${config.reward.path} (the reward model)` }
        : {}),
      steps: records.length,
      'reward (first 5 steps)': show(windowMean(records, 'reward', 'first')),
      'reward (last 5 steps)': show(windowMean(records, 'reward', 'last')),
      // only algorithms that decode a greedy response report its reward
      ...(shape.greedy
        ? {
            'greedy reward (first 5)': show(windowMean(records, 'greedy_reward', 'first')),
            'greedy reward (last 5)': show(windowMean(records, 'greedy_reward', 'last')),
          }
        : {}),
      'KL (last 5)': show(windowMean(records, 'kl', 'last')),
      'seconds per step': show(mean(records.map((r) => r.seconds))),
    },
    samples,
  });
}
