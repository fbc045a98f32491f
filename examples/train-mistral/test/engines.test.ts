// Rollout and reward through `serve` (vLLM's protocol on 127.0.0.1) give the
// same 3-step ReMax run as in-process; the engine dying mid-run checkpoints,
// stops with E_ENGINE, and --resume completes the run once it is back.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isRemaxError } from '@remax/core';
import { describe, expect, it } from 'vitest';
import { loadRunConfig } from '../src/config/load.js';
import { checkEngineConfig, endpointOf } from '../src/run/engines.js';
import { train } from '../src/run/train.js';
import { serveModels } from '../src/serve/serve.js';
import {
  deterministicPart,
  FAST,
  splitEngineLogprobs,
  tinyYaml,
  trainUntilEngineDies,
} from './trainHelpers.js';

const fixtures = fileURLToPath(new URL('../../../fixtures/models/', import.meta.url));
const FAST_ENGINE = [
  ...FAST,
  'train.max_steps=3',
  // The engine keeps the weights it was started with (no adapter sync without
  // LoRA), so both runs keep them too: an lr below the float32 resolution of
  // the weights computes every update (loss, grads, clip) but leaves the
  // weights bitwise unchanged, as the engine's are.
  'optim.lr=1e-30',
];

async function startEngine(port = 0) {
  return serveModels({
    model: join(fixtures, 'tiny-mistral'),
    servedModelName: 'policy',
    rewardModel: join(fixtures, 'tiny-ultrarm'),
    rewardName: 'ultrarm',
    host: '127.0.0.1',
    port,
    enableLora: false,
  });
}

function remoteSets(port: number, retries = 3): string[] {
  return [
    'rollout.engine=openai',
    `rollout.base_url=http://127.0.0.1:${port}/v1`,
    'rollout.model=policy',
    'rollout.allow_stale_weights=true',
    `rollout.max_retries=${retries}`,
    'reward.engine=remote',
    `reward.base_url=http://127.0.0.1:${port}`,
    'reward.model=ultrarm',
    `reward.max_retries=${retries}`,
  ];
}

const LONG = 900_000;

describe('engines', () => {
  it(
    'a seeded 3-step ReMax run through serve has the in-process metrics; a dead engine checkpoints and --resume completes',
    async () => {
      const local = loadRunConfig(tinyYaml, { set: FAST_ENGINE }).config;
      const inProcess = await train({
        config: local,
        runDir: mkdtempSync(join(tmpdir(), 'remax-local-')),
        progress: false,
      });
      const engine = await startEngine();
      let remote: Awaited<ReturnType<typeof train>>;
      try {
        const config = loadRunConfig(tinyYaml, {
          set: [...FAST_ENGINE, ...remoteSets(engine.port)],
        }).config;
        remote = await train({
          config,
          runDir: mkdtempSync(join(tmpdir(), 'remax-remote-')),
          progress: false,
        });
      } finally {
        await engine.close();
      }
      expect(remote.records).toHaveLength(3);
      const [a, aLogprobs] = splitEngineLogprobs(inProcess.records);
      const [b, bLogprobs] = splitEngineLogprobs(remote.records);
      expect(b).toEqual(a);
      // The engine's logprobs come from a differently composed batch: float32 rounding only.
      expect(bLogprobs.length).toBe(aLogprobs.length);
      bLogprobs.forEach((v, i) => {
        expect(Math.abs(v - (aLogprobs[i] as number))).toBeLessThan(1e-5);
      });

      // The engine dies after step 1: retries, E_ENGINE, a checkpoint at step 1, a clear message.
      const second = await startEngine();
      const port = second.port;
      const runDir = mkdtempSync(join(tmpdir(), 'remax-dead-engine-'));
      const config = loadRunConfig(tinyYaml, {
        set: [...FAST_ENGINE, ...remoteSets(port, 1)],
      }).config;
      const failed = await trainUntilEngineDies(config, runDir, second);
      expect(isRemaxError(failed, 'E_ENGINE')).toBe(true);
      expect(String((failed as Error).message)).toContain(`--resume ${runDir}`);
      expect(String((failed as Error).message)).toContain('cannot connect');
      expect(existsSync(join(runDir, 'checkpoints', 'checkpoint-1'))).toBe(true);

      // The engine is back on the same port: --resume finishes with the straight run's steps 2-3.
      const back = await startEngine(port);
      try {
        const resumed = await train({
          config,
          runDir,
          resume: true,
          progress: false,
        });
        expect(resumed.stopped).toBe('done');
        expect(resumed.records.map(deterministicPart).map((r) => r.step)).toEqual([1, 2, 3]);
        const tail = resumed.records.slice(1).map(deterministicPart);
        const want = remote.records.slice(1).map(deterministicPart);
        expect(tail).toEqual(want);
      } finally {
        await back.close();
      }
    },
    LONG,
  );
});

describe('engine config', () => {
  it('an openai rollout needs base_url and model', () => {
    expect(() => loadRunConfig(tinyYaml, { set: ['rollout.engine=openai'] })).toThrow(
      /rollout\.base_url[\s\S]*required with engine: openai/,
    );
    expect(() =>
      loadRunConfig(tinyYaml, {
        set: ['reward.engine=remote', 'reward.base_url=http://127.0.0.1:1'],
      }),
    ).toThrow(/reward\.model/);
  });

  it('refuses a remote rollout engine with full fine-tuning unless stale weights are allowed', () => {
    const set = [
      'rollout.engine=openai',
      'rollout.base_url=http://127.0.0.1:1/v1',
      'rollout.model=p',
    ];
    const { config } = loadRunConfig(tinyYaml, { set });
    expect(() => checkEngineConfig(config)).toThrow(/allow_stale_weights/);
    const ok = loadRunConfig(tinyYaml, {
      set: [...set, 'rollout.allow_stale_weights=true'],
    }).config;
    expect(() => checkEngineConfig(ok)).not.toThrow();
  });

  it('reads the API key from the named environment variable, never from YAML', () => {
    const { config } = loadRunConfig(tinyYaml, {
      set: [
        'rollout.engine=openai',
        'rollout.base_url=http://127.0.0.1:1/v1',
        'rollout.model=p',
        'rollout.api_key_env=REMAX_TEST_ENGINE_KEY',
      ],
    });
    delete process.env.REMAX_TEST_ENGINE_KEY;
    expect(() => endpointOf(config.rollout, 'rollout')).toThrow(/REMAX_TEST_ENGINE_KEY/);
    process.env.REMAX_TEST_ENGINE_KEY = 'secret';
    try {
      expect(endpointOf(config.rollout, 'rollout').apiKey).toBe('secret');
    } finally {
      delete process.env.REMAX_TEST_ENGINE_KEY;
    }
    expect(() => loadRunConfig(tinyYaml, { set: ['rollout.api_key_env=not a name'] })).toThrow(
      /api_key_env/,
    );
  });
});
