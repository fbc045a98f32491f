import type { StepRecord } from '../metrics.js';

/**
 * The scalars of one metrics.jsonl line, named as they are there: the headline
 * fields (`reward`, `kl`, `seconds`...) and every metric the algorithm reported
 * (`reward/mean`, `time/rollout_s`...). Nulls and non-finite values (written as
 * null in JSON) are left out; `step` is the x axis, not a scalar. An algorithm
 * metric named like a headline field would be `algo/<name>`.
 */
export function stepScalars(record: StepRecord): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  const headline = new Set<string>();
  for (const [key, value] of Object.entries(record)) {
    if (key === 'step' || key === 'algo') continue;
    headline.add(key);
    if (typeof value === 'number' && Number.isFinite(value)) out.push([key, value]);
  }
  for (const [key, value] of Object.entries(record.algo)) {
    if (typeof value === 'number' && Number.isFinite(value))
      out.push([headline.has(key) ? `algo/${key}` : key, value]);
  }
  return out;
}
