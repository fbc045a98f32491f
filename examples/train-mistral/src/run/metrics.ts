import { join } from 'node:path';
import { parseWith } from '@remax/core';
import { z } from 'zod';
import { appendDurable, nodeIo, type RunIo } from './durableWrite.js';
import { readJsonLines, rewriteJsonLines } from './jsonLines.js';

/**
 * One line of metrics.jsonl. The headline fields are named the same for every
 * algorithm (null where one does not have it, e.g. PPO has no greedy reward,
 * or where the value was not finite: JSON has no NaN); `algo` keeps every
 * metric the algorithm itself reported, verbatim.
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
  algo: Record<string, number | null>;
}

const maybe = z.number().nullable();
const stepRecordSchema = z.looseObject({
  step: z.number().int().positive(),
  epoch: z.number().int().nonnegative(),
  prompts_seen: z.number().int().nonnegative(),
  reward: maybe,
  greedy_reward: maybe,
  kl: maybe,
  response_length: maybe,
  tokens_per_s: z.number(),
  seconds: z.number(),
  lr: maybe,
  peak_tensor_bytes: z.number(),
  rss_bytes: z.number(),
  algo: z.record(z.string(), maybe),
});

export const METRICS_FILE = 'metrics.jsonl';

export function appendMetrics(runDir: string, record: StepRecord, io: RunIo = nodeIo): void {
  appendDurable(io, join(runDir, METRICS_FILE), `${JSON.stringify(record)}\n`);
}

export interface ReadLogOptions {
  /** Only the records of steps <= upToStep. */
  upToStep?: number;
  /** Told when a torn last line (a write cut short) is dropped. */
  onWarning?: (message: string) => void;
}

/**
 * Reads metrics.jsonl, each line validated. A torn last line (a kill during
 * the append) is dropped with a warning; a bad line anywhere else is
 * E_FORMAT naming file:line.
 */
export function readMetrics(runDir: string, options: ReadLogOptions = {}): StepRecord[] {
  const file = join(runDir, METRICS_FILE);
  const lines = readJsonLines(file, options.onWarning);
  const records = lines.map(
    ({ value, line }) =>
      parseWith(stepRecordSchema, value, {
        file: `${file}:${line}`,
        what: 'metrics line',
        code: 'E_FORMAT',
      }) as StepRecord,
  );
  const upTo = options.upToStep;
  return upTo === undefined ? records : records.filter((r) => r.step <= upTo);
}

/** Cuts metrics.jsonl back to the steps <= step (atomically), returning what is kept. */
export function cutMetrics(
  runDir: string,
  step: number,
  io: RunIo = nodeIo,
  onWarning?: (message: string) => void,
): StepRecord[] {
  const kept = readMetrics(runDir, { upToStep: step, ...(onWarning ? { onWarning } : {}) });
  rewriteJsonLines(io, join(runDir, METRICS_FILE), kept);
  return kept;
}
