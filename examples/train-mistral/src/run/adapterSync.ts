// LoRA hot-swap into the rollout engine: the adapter is written atomically to
// <run>/adapters/step-N/ (PEFT files), then the engine drops its copy and loads
// the new one under the same name (vLLM's /v1/unload_lora_adapter +
// /v1/load_lora_adapter; not load_inplace, which has re-read stale files).
// Rollouts ask for `model: <lora_name>`, so after each sync they come from the
// trained policy and no stale-weights waiver is needed.
import { readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type EngineEndpoint, isRemaxError, postEngineText } from '@remax/core';
import { type CausalLM, saveAdapter } from '@remax/model-mistral';
import type { RunConfig } from '../config/schema.js';
import { writeDirAtomically } from './atomicDir.js';

export const ADAPTERS_DIR = 'adapters';

/** Whether the run hot-swaps its adapter into a remote rollout engine. */
export function syncsAdapters(config: RunConfig): boolean {
  return config.sync !== null && config.lora !== null && config.rollout.engine === 'openai';
}

export interface AdapterSync {
  /** The engine's name for the adapter: the `model` of every completion request. */
  readonly loraName: string;
  /** Saves the policy's adapter as of `step` and swaps it into the engine. */
  sync(step: number): Promise<string>;
  /** Whether the update that made `step` is followed by a sync. */
  due(step: number): boolean;
}

/**
 * `endpoint` is the rollout engine's (baseURL with /v1, retries and timeout as
 * for completions); failures are E_ENGINE after the same retries.
 */
export function adapterSync(
  policy: CausalLM,
  runDir: string,
  endpoint: EngineEndpoint,
  sync: { every_steps: number; lora_name: string; keep_last: number },
): AdapterSync {
  const loraName = sync.lora_name;
  return {
    loraName,
    due: (step) => step % sync.every_steps === 0,
    async sync(step) {
      const dir = resolve(runDir, ADAPTERS_DIR, `step-${step}`);
      await writeDirAtomically(dir, (tmp) => saveAdapter(policy, tmp));
      await unloadIfLoaded(endpoint, loraName, step);
      await postEngineText(
        endpoint,
        'load_lora_adapter',
        { lora_name: loraName, lora_path: dir },
        `load adapter '${loraName}' of step ${step} from ${dir}`,
      );
      pruneAdapters(resolve(runDir, ADAPTERS_DIR), sync.keep_last);
      return dir;
    },
  };
}

/** Removes all but the newest `keep` adapters/step-N folders (vLLM reads the files only while loading). */
function pruneAdapters(root: string, keep: number): void {
  const steps = readdirSync(root)
    .map((d) => /^step-(\d+)$/.exec(d)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
  for (const n of steps.slice(0, -keep)) {
    rmSync(join(root, `step-${n}`), { recursive: true, force: true });
  }
}

/** Unloads the engine's adapter; 404 (never loaded, e.g. the run's first sync) is fine. */
async function unloadIfLoaded(endpoint: EngineEndpoint, loraName: string, step: number) {
  try {
    await postEngineText(
      endpoint,
      'unload_lora_adapter',
      { lora_name: loraName },
      `unload adapter '${loraName}' before step ${step}'s`,
    );
  } catch (e) {
    if (isRemaxError(e, 'E_ENGINE') && (e.value as { status?: unknown })?.status === 404) return;
    throw e;
  }
}
