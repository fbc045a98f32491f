// samples.jsonl: a few generations with their rewards, every `samples_every` steps.
import { join } from 'node:path';
import type { GenerationShape } from '../registry/generation.js';
import { readSampleLines, SAMPLES_FILE } from '../report/samples.js';
import { appendDurable, nodeIo, type RunIo } from './durableWrite.js';
import { rewriteJsonLines } from './jsonLines.js';

export { SAMPLES_FILE };

/**
 * Appends the first rows of each reward call of a step. The sampled call (the
 * first) holds `samplesPerPrompt` rows per prompt, a greedy call one.
 */
export function writeSamples(
  runDir: string,
  step: number,
  prompts: readonly string[],
  scored: readonly { texts: string[]; rewards: Float32Array }[],
  shape: GenerationShape,
  io: RunIo = nodeIo,
): void {
  const lines = scored.flatMap((call, callIndex) =>
    call.texts.slice(0, 2).map((text, row) =>
      JSON.stringify({
        step,
        call: callIndex,
        row,
        prompt: prompts[Math.floor(row / (callIndex === 0 ? shape.samplesPerPrompt : 1))] ?? null,
        text,
        reward: call.rewards[row],
      }),
    ),
  );
  if (lines.length > 0) appendDurable(io, join(runDir, SAMPLES_FILE), `${lines.join('\n')}\n`);
}

/** Cuts samples.jsonl back to the steps <= step (atomically). */
export function cutSamples(
  runDir: string,
  step: number,
  io: RunIo = nodeIo,
  onWarning?: (m: string) => void,
): void {
  const kept = readSampleLines(runDir, onWarning).filter((s) => s.step <= step);
  rewriteJsonLines(io, join(runDir, SAMPLES_FILE), kept);
}
