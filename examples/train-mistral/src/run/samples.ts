// samples.jsonl: a few generations with their rewards, every `samples_every` steps.
import { join } from 'node:path';
import { parseWith } from '@remax/core';
import { z } from 'zod';
import { appendDurable, nodeIo, type RunIo } from './durableWrite.js';
import { readJsonLines, rewriteJsonLines } from './jsonLines.js';

export const SAMPLES_FILE = 'samples.jsonl';

/** One line of samples.jsonl (reward null when it was not finite). */
export const sampleLineSchema = z.looseObject({
  step: z.number().int().positive(),
  call: z.number().int().nonnegative(),
  row: z.number().int().nonnegative(),
  prompt: z.string().nullable(),
  text: z.string(),
  reward: z.number().nullable(),
});
export type SampleLine = z.output<typeof sampleLineSchema>;

/** Appends the first rows of each reward call of a step. */
export function writeSamples(
  runDir: string,
  step: number,
  prompts: readonly string[],
  scored: readonly { texts: string[]; rewards: Float32Array }[],
  io: RunIo = nodeIo,
): void {
  const lines = scored.flatMap((call, callIndex) =>
    call.texts.slice(0, 2).map((text, row) =>
      JSON.stringify({
        step,
        call: callIndex,
        row,
        prompt: prompts[row] ?? null,
        text,
        reward: call.rewards[row],
      }),
    ),
  );
  if (lines.length > 0) appendDurable(io, join(runDir, SAMPLES_FILE), `${lines.join('\n')}\n`);
}

/** Reads samples.jsonl (torn last line dropped with a warning; bad lines name file:line). */
export function readSamples(runDir: string, onWarning?: (m: string) => void): SampleLine[] {
  const file = join(runDir, SAMPLES_FILE);
  return readJsonLines(file, onWarning).map(({ value, line }) =>
    parseWith(sampleLineSchema, value, {
      file: `${file}:${line}`,
      what: 'sample line',
      code: 'E_FORMAT',
    }),
  );
}

/** Cuts samples.jsonl back to the steps <= step (atomically). */
export function cutSamples(
  runDir: string,
  step: number,
  io: RunIo = nodeIo,
  onWarning?: (m: string) => void,
): void {
  const kept = readSamples(runDir, onWarning).filter((s) => s.step <= step);
  rewriteJsonLines(io, join(runDir, SAMPLES_FILE), kept);
}
