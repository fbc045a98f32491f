// Checks on prompt sets that must fail before any model loads.
import { RemaxError } from '@remax/core';
import type { RunConfig } from '../config/schema.js';
import type { SelectionStats, SourcedPrompt } from './prepare.js';

/** A selection smaller than what the run needs is an error naming the source and the filters' drops. */
export function requireEnoughPrompts(
  kept: number,
  stats: SelectionStats,
  need: { source: string; needed: number; what: string },
): void {
  if (kept >= need.needed && kept > 0) return;
  const drops = Object.entries(stats.dropped)
    .filter(([, n]) => n > 0)
    .map(([why, n]) => `${n} ${why}`)
    .join(', ');
  throw new RemaxError('E_INPUT', 'too few prompts', {
    file: need.source,
    value: `${kept} kept of ${stats.read} read${drops ? ` (dropped: ${drops})` : ''}`,
    expected: `at least ${Math.max(1, need.needed)} for ${need.what}`,
  });
}

/**
 * Every prompt of an explicit prompts file must fit data.max_prompt_seq once
 * templated (as selection enforces for the run's own prompts): the first that
 * does not is an error naming the file and the prompt's number.
 */
export function assertPromptsFit(
  prompts: readonly SourcedPrompt[],
  file: string,
  length: (prompt: string) => number,
  config: RunConfig,
): void {
  if (prompts.length === 0) {
    throw new RemaxError('E_INPUT', 'no prompts', { file, expected: 'at least one prompt' });
  }
  for (const [i, p] of prompts.entries()) {
    const n = length(p.prompt);
    if (n > config.data.max_prompt_seq) {
      throw new RemaxError('E_INPUT', 'prompt is longer than data.max_prompt_seq', {
        file,
        field: `prompt ${i + 1}`,
        value: `${n} tokens`,
        expected: `<= ${config.data.max_prompt_seq} tokens (templated); shorten it or raise data.max_prompt_seq`,
      });
    }
  }
}
