// `remax-train-mistral serve`: our own models behind vLLM's OpenAI-compatible
// protocol subset (@remax/rollout's startServer), so the remote rollout and
// reward paths run against a laptop-sized server exactly as against vLLM.

import { basename, resolve } from 'node:path';
import { initBackend, RemaxError } from '@remax/core';
import { loadAdapter, loadCausalLM } from '@remax/model-mistral';
import { loadRewardModel, servedClassifier } from '@remax/reward-ultrarm';
import { type RunningServer, servedCausalLM, startServer } from '@remax/rollout';
import { Tokenizer } from '@remax/tokenizer';

export interface ServeCommandOptions {
  model: string;
  servedModelName?: string;
  rewardModel?: string;
  rewardName?: string;
  host: string;
  port: number;
  apiKey?: string;
  enableLora: boolean;
  seed?: number;
}

export async function serveModels(
  o: ServeCommandOptions,
): Promise<RunningServer & { close(): Promise<void> }> {
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) {
    throw new RemaxError('E_INPUT', 'invalid port', {
      field: '--port',
      value: o.port,
      expected: 'an integer in [0, 65535]',
    });
  }
  await initBackend();
  const dir = resolve(o.model);
  const tokenizer = await Tokenizer.fromDir(dir);
  const model = await loadCausalLM(dir);
  const reward = o.rewardModel ? await loadRewardModel(resolve(o.rewardModel)) : null;
  const server = await startServer({
    model: servedCausalLM(o.servedModelName ?? dir, dir, model, tokenizer),
    ...(reward && o.rewardModel
      ? {
          classifier: servedClassifier(
            reward,
            o.rewardName ?? basename(resolve(o.rewardModel)),
            resolve(o.rewardModel),
          ),
        }
      : {}),
    host: o.host,
    port: o.port,
    ...(o.apiKey !== undefined ? { apiKey: o.apiKey } : {}),
    enableLora: o.enableLora,
    // each adapter gets its own copy of the base with the PEFT adapter attached
    adapters: {
      async load(adapterDir: string) {
        const variant = await loadCausalLM(dir);
        try {
          await loadAdapter(variant, resolve(adapterDir));
          return variant;
        } catch (e) {
          variant.dispose();
          throw e;
        }
      },
    },
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
  });
  return {
    ...server,
    batchSizes: server.batchSizes,
    async close() {
      await server.close();
      model.dispose();
      reward?.dispose();
    },
  };
}
