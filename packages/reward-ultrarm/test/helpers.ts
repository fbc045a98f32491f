import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's fixtures (a copy of the shared fixture set), reached relative to this file. */
export const FIXTURES = fileURLToPath(new URL('../../../fixtures/', import.meta.url));
export const ULTRARM_DIR = join(FIXTURES, 'models/tiny-ultrarm');
export const MISTRAL_TOKENIZER = join(FIXTURES, 'models/tiny-mistral/tokenizer.model');
export const LLAMA_TOKENIZER = join(ULTRARM_DIR, 'tokenizer.model');

export interface PaddedBatch {
  input_ids: number[][];
  attention_mask: number[][];
  rewards: number[];
}

export interface UltraGolden {
  template: string;
  texts: string[];
  right_padded: PaddedBatch;
  left_padded: PaddedBatch;
}

export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

export const golden = readJson<UltraGolden>(join(ULTRARM_DIR, 'golden.json'));

const BIN_FILES = [
  'config.json',
  'tokenizer.model',
  'pytorch_model.bin.index.json',
  'pytorch_model-00001-of-00002.bin',
  'pytorch_model-00002-of-00002.bin',
];
const SAFETENSORS_FILES = ['config.json', 'tokenizer.model', 'model.safetensors'];

/**
 * A temp directory holding ONE weight format of tiny-ultrarm (the fixture
 * directory holds both, and a loader would pick safetensors).
 */
export function ultraRMVariant(format: 'bin' | 'safetensors', files?: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), `remax-ultrarm-${format}-`));
  for (const f of files ?? (format === 'bin' ? BIN_FILES : SAFETENSORS_FILES)) {
    copyFileSync(join(ULTRARM_DIR, f), join(dir, f));
  }
  return dir;
}
