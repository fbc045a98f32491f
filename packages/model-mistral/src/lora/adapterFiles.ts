// The two files PEFT's save_pretrained writes and vLLM / PEFT load:
// adapter_config.json and adapter_model.safetensors (F32, {"format": "pt"}).
import { access, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RemaxError, tf } from '@remax/core';
import { openCheckpoint, type TensorEntry, writeSafetensors } from '@remax/safetensors';
import type { CausalLM } from '../causalLM.js';
import { AdapterSet, type LoraPair, peftKey } from './adapterSet.js';
import { formatPeftConfig, loraScaling, PEFT_VERSION, parsePeftConfig } from './peftConfig.js';
import { resolveTargets } from './targets.js';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';
/** What PEFT before safetensors wrote (read only). */
const ADAPTER_WEIGHTS_BIN = 'adapter_model.bin';

export interface SaveAdapterOptions {
  /** base_model_name_or_path written to the config (default: the adapter's own). */
  baseModelNameOrPath?: string | null;
}

/**
 * Writes `dir`/adapter_config.json (PEFT's full LoraConfig, inference_mode true as
 * save_pretrained sets it) and `dir`/adapter_model.safetensors (every lora_A / lora_B by
 * PEFT key, F32). Each file appears atomically (temp name, then rename).
 */
export async function saveAdapter(
  model: CausalLM,
  dir: string,
  options: SaveAdapterOptions = {},
): Promise<void> {
  const set = model.adapters;
  if (set === null) {
    throw new RemaxError('E_STATE', 'saveAdapter: the model has no adapters', {
      expected: 'addLoRA() or loadAdapter() first',
    });
  }
  const entries = new Map<string, TensorEntry>();
  for (const [key, v] of set.parameters()) {
    entries.set(key, { dtype: 'F32', shape: [...v.shape], data: (await v.data()) as Float32Array });
  }
  const config = {
    ...set.config,
    inference_mode: true,
    peft_version: PEFT_VERSION,
    ...(options.baseModelNameOrPath !== undefined && {
      base_model_name_or_path: options.baseModelNameOrPath,
    }),
  };
  await mkdir(dir, { recursive: true });
  await writeSafetensors(join(dir, ADAPTER_WEIGHTS), entries);
  const configFile = join(dir, ADAPTER_CONFIG);
  const temp = `${configFile}.tmp-${process.pid}`;
  try {
    await writeFile(temp, formatPeftConfig(config));
    await rename(temp, configFile);
  } catch (cause) {
    throw new RemaxError('E_FILE', 'cannot write the adapter config', { file: configFile, cause });
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * Loads a PEFT LoRA adapter folder onto `model` (which must have none): the config is
 * checked (older PEFT files get PEFT's defaults, unsupported options are refused), the
 * tensors must be exactly one lora_A [r, in] and lora_B [out, r] per targeted module;
 * missing, unexpected and mis-shaped tensors are reported together. The base becomes frozen.
 */
export async function loadAdapter(model: CausalLM, dir: string): Promise<Map<string, tf.Variable>> {
  const configFile = join(dir, ADAPTER_CONFIG);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(configFile, 'utf8'));
  } catch (cause) {
    throw new RemaxError('E_FILE', 'cannot read adapter_config.json', { file: configFile, cause });
  }
  const config = parsePeftConfig(raw, configFile);
  const targets = resolveTargets(model, config, configFile);
  let weightsFile = join(dir, ADAPTER_WEIGHTS);
  if (!(await exists(weightsFile)) && (await exists(join(dir, ADAPTER_WEIGHTS_BIN)))) {
    weightsFile = join(dir, ADAPTER_WEIGHTS_BIN);
  }
  const ckpt = await openCheckpoint(weightsFile);
  const pairs = new Map<string, LoraPair>();
  try {
    const offered = new Set(ckpt.names());
    const expected = new Map<string, number[]>();
    for (const t of targets) {
      expected.set(peftKey(t.module, 'A'), [config.r, t.in]);
      expected.set(peftKey(t.module, 'B'), [t.out, config.r]);
    }
    const problems: string[] = [];
    for (const [k, shape] of expected) {
      if (!offered.has(k)) problems.push(`missing ${k}`);
      else {
        const got = ckpt.info(k).shape;
        if (got.join() !== shape.join()) problems.push(`${k}: shape [${got}], expected [${shape}]`);
      }
    }
    for (const k of offered) if (!expected.has(k)) problems.push(`unexpected ${k}`);
    if (problems.length > 0) {
      throw new RemaxError(
        'E_CHECKPOINT',
        `adapter tensors do not match the config:\n  ${problems.join('\n  ')}`,
        {
          file: ckpt.path,
          expected: `lora_A [r=${config.r}, in] and lora_B [out, r] for the ${targets.length} targeted modules`,
        },
      );
    }
    const read = async (k: string): Promise<tf.Variable> => {
      const data = (await ckpt.read(k, { as: 'float32' })) as Float32Array;
      return tf.tidy(() =>
        tf.variable(tf.tensor(data, expected.get(k) as number[], 'float32'), true),
      );
    };
    for (const t of targets) {
      const A = await read(peftKey(t.module, 'A'));
      const B = await read(peftKey(t.module, 'B')).catch((e: unknown) => {
        A.dispose();
        throw e;
      });
      pairs.set(t.module, { A, B });
    }
  } catch (e) {
    for (const p of pairs.values()) tf.dispose([p.A, p.B]);
    throw e;
  } finally {
    await ckpt.close();
  }
  const set = new AdapterSet(config, loraScaling(config), pairs);
  try {
    model.attachAdapters(set);
  } catch (e) {
    set.dispose();
    throw e;
  }
  return set.parameters();
}
