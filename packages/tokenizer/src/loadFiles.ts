import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseWith, RemaxError } from '@remax/core';
import { z } from 'zod';
import { sentencePieceModelFrom } from './loadSentencePiece.js';
import { tokenizerJsonModelFrom } from './loadTokenizerJson.js';
import type { TokenizerModel } from './tokenizerModel.js';

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (cause) {
    throw new RemaxError('E_FILE', 'cannot read tokenizer file', { file: path, cause });
  }
}

function parseJson(bytes: Uint8Array, file: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (cause) {
    throw new RemaxError('E_FORMAT', 'not valid JSON', { file, cause });
  }
}

/** `x/tokenizer.json` -> `x/tokenizer_config.json`; `x/llama-tokenizer.json` -> `x/llama-tokenizer_config.json`. */
export function configPathFor(jsonPath: string): string {
  const name = basename(jsonPath);
  const configName = name.endsWith('.json')
    ? `${name.slice(0, -'.json'.length)}_config.json`
    : `${name}_config.json`;
  return join(dirname(jsonPath), configName);
}

/**
 * Reads a `tokenizer.model` (SentencePiece ModelProto) or a `tokenizer.json`
 * (with the `tokenizer_config.json` beside it when there is one); the format is
 * recognised from the content, not the name.
 */
export async function readTokenizerModel(path: string): Promise<TokenizerModel> {
  const bytes = await readBytes(path);
  let first = 0;
  while (
    first < bytes.length &&
    (bytes[first] === 0x20 ||
      bytes[first] === 0x0a ||
      bytes[first] === 0x0d ||
      bytes[first] === 0x09)
  )
    first++;
  if (bytes[first] !== 0x7b /* '{' */) return sentencePieceModelFrom(bytes, path);
  const json = parseJson(bytes, path);
  const configPath = configPathFor(path);
  const config = (await exists(configPath))
    ? parseJson(await readBytes(configPath), configPath)
    : undefined;
  return tokenizerJsonModelFrom(json, config, path, configPath);
}

/**
 * Reads the tokenizer of a model directory: `tokenizer.json` when present (checked
 * to agree with `tokenizer.model` piece by piece when both exist), else
 * `tokenizer.model`.
 */
export async function readTokenizerDir(dir: string): Promise<TokenizerModel> {
  const jsonPath = join(dir, 'tokenizer.json');
  const modelPath = join(dir, 'tokenizer.model');
  const [hasJson, hasModel] = await Promise.all([exists(jsonPath), exists(modelPath)]);
  if (!hasJson && !hasModel) {
    throw new RemaxError('E_FILE', 'no tokenizer in directory', {
      file: dir,
      expected: 'tokenizer.json or tokenizer.model',
    });
  }
  if (!hasJson) return readTokenizerModel(modelPath);
  const fromJson = await readTokenizerModel(jsonPath);
  if (hasModel) {
    const fromModel = await readTokenizerModel(modelPath);
    const a = fromJson.pieces;
    const b = fromModel.pieces;
    const firstDiff =
      a.length !== b.length ? Math.min(a.length, b.length) : a.findIndex((p, i) => p !== b[i]);
    if (
      firstDiff >= 0 ||
      fromJson.bosId !== fromModel.bosId ||
      fromJson.eosId !== fromModel.eosId
    ) {
      throw new RemaxError('E_TOKENIZER', 'tokenizer.json and tokenizer.model disagree', {
        file: dir,
        field: firstDiff >= 0 ? `piece ${firstDiff}` : 'bos/eos ids',
        expected: 'the same vocabulary and special ids in both files (remove the stale one)',
      });
    }
  }
  return fromJson;
}

const chatTemplateConfigSchema = z.looseObject({
  chat_template: z
    .union([z.string(), z.array(z.looseObject({ name: z.string(), template: z.string() }))])
    .nullish(),
});

/**
 * The Jinja `chat_template` of the tokenizer_config.json that goes with `path` (a
 * model directory, or a tokenizer.json file's `*_config.json` sibling), or null.
 * A list of named templates gives its "default" one.
 */
export async function readChatTemplate(path: string): Promise<string | null> {
  const isDir = await stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
  const configPath = isDir
    ? join(path, 'tokenizer_config.json')
    : path.endsWith('.json')
      ? configPathFor(path)
      : null;
  if (configPath === null || !(await exists(configPath))) return null;
  const cfg = parseWith(
    chatTemplateConfigSchema,
    parseJson(await readBytes(configPath), configPath),
    {
      file: configPath,
      what: 'tokenizer_config.json',
      code: 'E_FORMAT',
    },
  );
  const t = cfg.chat_template;
  if (t === undefined || t === null) return null;
  if (typeof t === 'string') return t;
  const named = t.find((e) => e.name === 'default');
  if (named === undefined) {
    throw new RemaxError('E_UNSUPPORTED', 'no default chat template', {
      file: configPath,
      field: 'chat_template',
      value: t.map((e) => e.name).join(', '),
      expected: 'a template named "default"',
    });
  }
  return named.template;
}
