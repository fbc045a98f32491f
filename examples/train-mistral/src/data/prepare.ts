import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parseWith, RemaxError, Rng } from '@remax/core';
import { z } from 'zod';
import type { FiltersConfig } from '../config/schema.js';
import { readLmsysParquet } from './lmsysParquet.js';

/** A candidate prompt with where it came from. */
export interface SourcedPrompt {
  prompt: string;
  /** lmsys `language`, when the source has it. */
  language: string | null;
  redacted: boolean;
  source: { file: string; row: number; conversation_id: string | null };
}

/** One line of a prepared prompts JSONL. */
export interface PreparedPrompt {
  prompt: string;
  source: { file: string; row: number; conversation_id: string | null };
}

const preparedSourceSchema = z.strictObject({
  file: z.string(),
  row: z.number().int().nonnegative(),
  conversation_id: z.string().nullable(),
});

/** Counts of what each filter dropped, so a run can say why it got fewer prompts. */
export interface SelectionStats {
  read: number;
  dropped: {
    language: number;
    redacted: number;
    empty: number;
    too_short: number;
    duplicate: number;
    too_long: number;
  };
  kept: number;
}

/** The shard files of a source: a file, or every *.parquet / *.jsonl in a directory (sorted). */
export function sourceFiles(source: string): string[] {
  const st = statSync(source, { throwIfNoEntry: false });
  if (!st) {
    throw new RemaxError('E_FILE', 'prompt source not found', {
      file: source,
      expected: 'an lmsys-chat-1m parquet shard, a directory of them, or a JSONL file',
    });
  }
  if (!st.isDirectory()) return [source];
  const files = readdirSync(source)
    .filter((f) => f.endsWith('.parquet') || f.endsWith('.jsonl'))
    .sort()
    .map((f) => join(source, f));
  if (files.length === 0) {
    throw new RemaxError('E_FILE', 'no .parquet or .jsonl files in the prompt source directory', {
      file: source,
    });
  }
  return files;
}

/** The first user message of an lmsys conversation, or null when it has none. */
export function firstUserTurn(conversation: unknown): string | null {
  if (!Array.isArray(conversation)) return null;
  for (const m of conversation) {
    if (m !== null && typeof m === 'object' && (m as { role?: unknown }).role === 'user') {
      const c = (m as { content?: unknown }).content;
      return typeof c === 'string' ? c : null;
    }
  }
  return null;
}

function fromRecord(rec: unknown, file: string, row: number, where: string): SourcedPrompt {
  const name = basename(file);
  if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) {
    throw new RemaxError('E_FORMAT', 'prompt row is not a JSON object', {
      file: `${file}:${where}`,
      value: rec,
      expected: 'an lmsys-chat-1m row or a prepared {prompt, source} line',
    });
  }
  return fromObject(rec as Record<string, unknown>, file, name, row, where);
}

function fromObject(
  rec: Record<string, unknown>,
  file: string,
  name: string,
  row: number,
  where: string,
): SourcedPrompt {
  if (typeof rec['prompt'] === 'string') {
    // a prepared prompts JSONL keeps its original provenance
    const src = parseWith(preparedSourceSchema.optional(), rec['source'], {
      file: `${file}:${where}`,
      what: 'prompt source',
      code: 'E_FORMAT',
    });
    return {
      prompt: rec['prompt'],
      language: null,
      redacted: false,
      source: src ?? { file: name, row, conversation_id: null },
    };
  }
  if (!('conversation' in rec)) {
    throw new RemaxError('E_FORMAT', 'prompt row has neither `prompt` nor `conversation`', {
      file: `${file}:${where}`,
      value: Object.keys(rec),
      expected: 'an lmsys-chat-1m row or a prepared {prompt, source} line',
    });
  }
  return {
    prompt: firstUserTurn(rec['conversation']) ?? '',
    language: typeof rec['language'] === 'string' ? rec['language'] : null,
    redacted: rec['redacted'] === true,
    source: {
      file: name,
      row,
      conversation_id: typeof rec['conversation_id'] === 'string' ? rec['conversation_id'] : null,
    },
  };
}

/** Reads every candidate prompt of a source, in file then row order. */
export async function readPromptSource(source: string): Promise<SourcedPrompt[]> {
  const out: SourcedPrompt[] = [];
  for (const file of sourceFiles(source)) {
    if (extname(file) === '.parquet') {
      const rows = await readLmsysParquet(file);
      rows.forEach((r, i) => {
        out.push(fromRecord(r, file, i, `row ${i}`));
      });
    } else {
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, i) => {
        if (line.trim() === '') return;
        let rec: unknown;
        try {
          rec = JSON.parse(line);
        } catch (cause) {
          throw new RemaxError('E_FORMAT', 'not valid JSON', {
            file: `${file}:${i + 1}`,
            expected: 'one JSON object per line',
            cause,
          });
        }
        out.push(fromRecord(rec, file, i, String(i + 1)));
      });
    }
  }
  return out;
}

export interface SelectOptions {
  filters: FiltersConfig;
  /** Length of the prompt after the chat template, in policy tokens. */
  promptLength: (prompt: string) => number;
  maxPromptSeq: number;
  seed: number;
  /** How many to keep (the first `count` of the seeded shuffle). */
  count: number;
}

/**
 * Filters (language, redacted, empty, duplicates, templated length), then a
 * seeded shuffle, then the first `count`. Lengths are measured only on prompts
 * that pass the cheap filters.
 */
export function selectPrompts(
  candidates: readonly SourcedPrompt[],
  options: SelectOptions,
): { prompts: PreparedPrompt[]; stats: SelectionStats } {
  const { filters } = options;
  const stats: SelectionStats = {
    read: candidates.length,
    dropped: { language: 0, redacted: 0, empty: 0, too_short: 0, duplicate: 0, too_long: 0 },
    kept: 0,
  };
  const languages = new Set(filters.languages);
  const seen = new Set<string>();
  const kept: PreparedPrompt[] = [];
  for (const c of candidates) {
    if (languages.size > 0 && c.language !== null && !languages.has(c.language)) {
      stats.dropped.language++;
      continue;
    }
    if (filters.drop_redacted && c.redacted) {
      stats.dropped.redacted++;
      continue;
    }
    const trimmed = c.prompt.trim();
    if (filters.drop_empty && trimmed.length === 0) {
      stats.dropped.empty++;
      continue;
    }
    if (trimmed.length < filters.min_chars) {
      stats.dropped.too_short++;
      continue;
    }
    if (filters.drop_duplicates) {
      if (seen.has(trimmed)) {
        stats.dropped.duplicate++;
        continue;
      }
      seen.add(trimmed);
    }
    if (options.promptLength(c.prompt) > options.maxPromptSeq) {
      stats.dropped.too_long++;
      continue;
    }
    kept.push({ prompt: c.prompt, source: c.source });
  }
  Rng.fromSeed(options.seed).shuffle(kept);
  const prompts = kept.slice(0, options.count);
  stats.kept = prompts.length;
  return { prompts, stats };
}

/** Serialises prepared prompts as JSONL (one `{prompt, source}` per line). */
export function toJsonl(prompts: readonly PreparedPrompt[]): string {
  return prompts.map((p) => JSON.stringify(p)).join('\n') + (prompts.length > 0 ? '\n' : '');
}
