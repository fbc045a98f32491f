import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RemaxError } from '@remax/core';

/**
 * One line of metrics.jsonl. The headline fields are named the same for every
 * algorithm (null where one does not have it, e.g. PPO has no greedy reward);
 * `algo` keeps every metric the algorithm itself reported, verbatim.
 */
export interface StepRecord {
  step: number;
  epoch: number;
  /** Prompts consumed so far (the data cursor after this step). */
  prompts_seen: number;
  reward: number | null;
  greedy_reward: number | null;
  kl: number | null;
  response_length: number | null;
  tokens_per_s: number;
  seconds: number;
  lr: number | null;
  /** Peak bytes held by tfjs tensors during the step. */
  peak_tensor_bytes: number;
  rss_bytes: number;
  algo: Record<string, number>;
}

export const METRICS_FILE = 'metrics.jsonl';

export function appendMetrics(runDir: string, record: StepRecord): void {
  appendFileSync(join(runDir, METRICS_FILE), `${JSON.stringify(record)}\n`);
}

/** Reads metrics.jsonl; with `upToStep`, only the records of steps <= upToStep. */
export function readMetrics(runDir: string, upToStep?: number): StepRecord[] {
  const file = join(runDir, METRICS_FILE);
  if (!existsSync(file)) return [];
  const out: StepRecord[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        out.push(JSON.parse(line) as StepRecord);
      } catch (cause) {
        throw new RemaxError('E_FORMAT', 'metrics line is not JSON', {
          file,
          field: `line ${i + 1}`,
          cause,
        });
      }
    });
  return upToStep === undefined ? out : out.filter((r) => r.step <= upToStep);
}
