// JSON-lines logs of a run (metrics.jsonl, samples.jsonl): read with a torn
// last line tolerated, rewritten atomically when a resume cuts them back.
import { existsSync, readFileSync } from 'node:fs';
import { RemaxError } from '@remax/core';
import { type RunIo, replaceAtomically } from './durableWrite.js';

/**
 * The parsed lines of a JSONL file with their 1-based line numbers. Text after
 * the last newline is a line whose write was cut short (kill -9, power loss):
 * it is dropped with a warning. Any other line that is not JSON is E_FORMAT
 * naming file:line.
 */
export function readJsonLines(
  file: string,
  onWarning?: (message: string) => void,
): { value: unknown; line: number }[] {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8').split('\n');
  const tail = lines.pop() ?? '';
  if (tail.trim() !== '') {
    onWarning?.(
      `${file}:${lines.length + 1}: dropped a torn last line (${tail.length} bytes without a newline)`,
    );
  }
  const out: { value: unknown; line: number }[] = [];
  lines.forEach((text, i) => {
    if (text.trim() === '') return;
    try {
      out.push({ value: JSON.parse(text), line: i + 1 });
    } catch (cause) {
      throw new RemaxError('E_FORMAT', 'line is not JSON', {
        file: `${file}:${i + 1}`,
        value: text,
        expected: 'one JSON object per line',
        cause,
      });
    }
  });
  return out;
}

/** Replaces a JSONL file by `values`, one per line (atomically). */
export function rewriteJsonLines(io: RunIo, file: string, values: readonly unknown[]): void {
  replaceAtomically(io, file, values.map((v) => `${JSON.stringify(v)}\n`).join(''));
}
