// LoRA hot-swap into the rollout engine over real HTTP (serve --enable-lora on
// 127.0.0.1): after a sync the engine decodes as the local adapted policy; a
// seeded LoRA run with rollouts through serve has the in-process metrics.
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isRemaxError, tf } from '@remax/core';
import { loadAdapter, loadCausalLM } from '@remax/model-mistral';
import { generate } from '@remax/rollout';
import { describe, expect, it } from 'vitest';
import { loadRunConfig } from '../src/config/load.js';
import { adapterSync } from '../src/run/adapterSync.js';
import { checkEngineConfig } from '../src/run/engines.js';
import { train } from '../src/run/train.js';
import { serveModels } from '../src/serve/serve.js';
import { FAST, splitEngineLogprobs, tinyYaml, trainUntilEngineDies } from './trainHelpers.js';

const fixtures = fileURLToPath(new URL('../../../fixtures/', import.meta.url));
const BASE = join(fixtures, 'models/tiny-mistral');
const ADAPTER = join(fixtures, 'lora/tiny-mistral-lora');
const PROMPT = [1, 733, 16289, 28793, 22557, 733, 28748, 16289, 28793];
const LONG = 900_000;

const startEngine = (enableLora: boolean) =>
  serveModels({
    model: BASE,
    servedModelName: 'policy',
    host: '127.0.0.1',
    port: 0,
    enableLora,
  });

async function engineGreedy(url: string, model: string): Promise<number[] | undefined> {
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model,
      prompt: PROMPT,
      temperature: 0,
      max_tokens: 8,
      ignore_eos: true,
      return_token_ids: true,
    }),
  });
  expect(res.status).toBe(200);
  const json = (await res.json()) as { choices: { token_ids: number[] }[] };
  return json.choices[0]?.token_ids;
}

async function localGreedy(model: Parameters<typeof generate>[0]): Promise<number[] | undefined> {
  const r = await generate(
    model,
    { inputIds: [PROMPT], attentionMask: [PROMPT.map(() => 1)] },
    { maxNewTokens: 8, greedy: true, eosTokenId: [] },
  );
  try {
    return r.responses[0];
  } finally {
    r.dispose();
  }
}

const LORA_SYNC = [
  ...FAST,
  'train.max_steps=3',
  'optim.lr=5e-3',
  'lora.r=4',
  'lora.alpha=8',
  'sync.every_steps=1',
];

describe('adapter sync', () => {
  it(
    'sync writes adapters/step-N atomically and the engine then decodes as the local adapted policy; a re-sync replaces it',
    async () => {
      const engine = await startEngine(true);
      const local = await loadCausalLM(BASE);
      const runDir = mkdtempSync(join(tmpdir(), 'remax-sync-'));
      try {
        await loadAdapter(local, ADAPTER);
        const endpoint = { baseURL: `${engine.url}/v1`, model: 'policy', maxRetries: 0 };
        const sync = adapterSync(local, runDir, endpoint, {
          every_steps: 2,
          lora_name: 'pi',
          keep_last: 2,
        });
        expect([1, 2, 3, 4].map((s) => sync.due(s))).toEqual([false, true, false, true]);

        const first = await sync.sync(0);
        expect(first).toBe(join(runDir, 'adapters', 'step-0'));
        expect(readdirSync(first).sort()).toEqual([
          'adapter_config.json',
          'adapter_model.safetensors',
        ]);
        const adapted = await localGreedy(local);
        expect(await engineGreedy(engine.url, 'pi')).toEqual(adapted);
        // the fixture adapter changes the greedy continuation, so equality above means it is loaded
        expect(await engineGreedy(engine.url, 'policy')).not.toEqual(adapted);

        // "train": change every adapter tensor, sync again under the same name
        for (const v of local.adapterParameters().values()) {
          tf.tidy(() => v.assign(v.mul(-3)));
        }
        const second = await sync.sync(2);
        expect(second).toBe(join(runDir, 'adapters', 'step-2'));
        expect(readdirSync(join(runDir, 'adapters')).sort()).toEqual(['step-0', 'step-2']);
        const updated = await localGreedy(local);
        expect(updated).not.toEqual(adapted);
        expect(await engineGreedy(engine.url, 'pi')).toEqual(updated);
        // once the engine loaded step-4, step-0 is more than keep_last back; no temporary is left
        await sync.sync(4);
        expect(readdirSync(join(runDir, 'adapters')).sort()).toEqual(['step-2', 'step-4']);
        expect(await engineGreedy(engine.url, 'pi')).toEqual(updated);
      } finally {
        local.dispose();
        await engine.close();
      }

      // an engine without LoRA refuses the load: typed E_ENGINE naming the request
      const plain = await startEngine(false);
      const model = await loadCausalLM(BASE);
      try {
        await loadAdapter(model, ADAPTER);
        const sync = adapterSync(
          model,
          runDir,
          { baseURL: `${plain.url}/v1`, model: 'policy', maxRetries: 0 },
          { every_steps: 1, lora_name: 'pi', keep_last: 2 },
        );
        const failed = await sync.sync(5).then(
          () => null,
          (e: unknown) => e,
        );
        expect(isRemaxError(failed, 'E_ENGINE')).toBe(true);
        expect(String((failed as Error).message)).toMatch(/lora_adapter/);
      } finally {
        model.dispose();
        await plain.close();
      }
    },
    LONG,
  );

  it(
    'a seeded 3-step LoRA ReMax run with rollouts through serve (sync every step) has the in-process metrics; a failed sync checkpoints and --resume completes it',
    async () => {
      const inProcess = await train({
        config: loadRunConfig(tinyYaml, {
          set: LORA_SYNC.filter((s) => !s.startsWith('sync.')),
        }).config,
        runDir: mkdtempSync(join(tmpdir(), 'remax-lora-local-')),
        progress: false,
      });
      const engine = await startEngine(true);
      const runDir = mkdtempSync(join(tmpdir(), 'remax-lora-remote-'));
      let remote: Awaited<ReturnType<typeof train>>;
      try {
        const { config } = loadRunConfig(tinyYaml, {
          set: [
            ...LORA_SYNC,
            'rollout.engine=openai',
            `rollout.base_url=${engine.url}/v1`,
            'rollout.model=policy',
          ],
        });
        expect(config.rollout.allow_stale_weights).toBe(false);
        remote = await train({ config, runDir, progress: false });
      } finally {
        await engine.close();
      }
      expect(remote.records).toHaveLength(3);
      const [a, aLogprobs] = splitEngineLogprobs(inProcess.records);
      const [b, bLogprobs] = splitEngineLogprobs(remote.records);
      // the policy moves (lr 5e-3): a stale engine would not match from step 2 on
      expect(a[2]).not.toEqual(a[0]);
      expect(b).toEqual(a);
      expect(bLogprobs.length).toBe(aLogprobs.length);
      bLogprobs.forEach((v, i) => {
        expect(Math.abs(v - (aLogprobs[i] as number))).toBeLessThan(1e-5);
      });
      // syncs after steps 0 (before the first rollout), 1 and 2 (none after the last); keep_last 2
      expect(readdirSync(join(runDir, 'adapters')).sort()).toEqual(['step-1', 'step-2']);
      expect(existsSync(join(runDir, 'final', 'adapter_model.safetensors'))).toBe(true);

      // the engine dies after step 1: the sync fails (E_ENGINE), step 1 is checkpointed, and
      // --resume against an engine back on the same port syncs first and finishes as the straight run
      const dying = await startEngine(true);
      const port = dying.port;
      const resumedDir = mkdtempSync(join(tmpdir(), 'remax-lora-dead-'));
      const config = loadRunConfig(tinyYaml, {
        set: [
          ...LORA_SYNC,
          'rollout.engine=openai',
          `rollout.base_url=${dying.url}/v1`,
          'rollout.model=policy',
          'rollout.max_retries=1',
        ],
      }).config;
      const failed = await trainUntilEngineDies(config, resumedDir, dying);
      expect(isRemaxError(failed, 'E_ENGINE')).toBe(true);
      expect(String((failed as Error).message)).toContain('unload_lora_adapter');
      expect(String((failed as Error).message)).toContain(`--resume ${resumedDir}`);
      expect(existsSync(join(resumedDir, 'checkpoints', 'checkpoint-1'))).toBe(true);
      const back = await serveModels({
        model: BASE,
        servedModelName: 'policy',
        host: '127.0.0.1',
        port,
        enableLora: true,
      });
      try {
        const resumed = await train({
          config,
          runDir: resumedDir,
          resume: true,
          progress: false,
        });
        expect(resumed.stopped).toBe('done');
        expect(splitEngineLogprobs(resumed.records)[0]).toEqual(b);
      } finally {
        await back.close();
      }
    },
    LONG,
  );
});

describe('sync config', () => {
  const remote = [
    'rollout.engine=openai',
    'rollout.base_url=http://127.0.0.1:1/v1',
    'rollout.model=p',
  ];
  it('LoRA + remote rollout + sync needs no stale-weights waiver; full fine-tuning still does', () => {
    const lora = ['lora.r=4', 'lora.alpha=8'];
    const synced = loadRunConfig(tinyYaml, { set: [...remote, ...lora, 'sync.every_steps=2'] });
    expect(synced.config.sync).toEqual({
      every_steps: 2,
      lora_name: 'remax-policy',
      keep_last: 2,
    });
    expect(() => checkEngineConfig(synced.config)).not.toThrow();
    // LoRA without sync: the engine keeps its start weights
    const unsynced = loadRunConfig(tinyYaml, { set: [...remote, ...lora] }).config;
    expect(() => checkEngineConfig(unsynced)).toThrow(/allow_stale_weights/);
    // sync without LoRA (full fine-tuning) or without a remote engine is refused
    const full = loadRunConfig(tinyYaml, { set: [...remote, 'sync.every_steps=1'] }).config;
    expect(() => checkEngineConfig(full)).toThrow(/sync[\s\S]*lora is null/);
    const local = loadRunConfig(tinyYaml, { set: [...lora, 'sync.every_steps=1'] }).config;
    expect(() => checkEngineConfig(local)).toThrow(/rollout\.engine is local/);
    expect(() => loadRunConfig(tinyYaml, { set: ['sync.every_steps=0'] })).toThrow(
      /sync\.every_steps/,
    );
  });
});
