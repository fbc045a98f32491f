// pnpm bench: JSON lines on stdout. Generation speed on the "small" config
// (random weights, batch 8, prompt 64, 128 new tokens), KV cache vs
// recompute, pairs mode vs two calls, a ReMax rollout through `serve` vs
// in-process, and the sampler's partial selection vs a full sort. Ratios are measured in the same run (the machine is noisy).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, Rng, tf } from '@remax/core';
import { loadCausalLM } from '@remax/model-mistral';
import { type DecodingModel, generate, TokenSampler } from '../src/index.js';
import { naiveKept } from '../test/naiveSampling.js';
import { SMALL, writeRandomCheckpoint } from './randomCheckpoint.js';
import { serveOverhead } from './serveOverhead.js';

const BATCH = Number(process.env['BENCH_BATCH'] ?? 8);
const PROMPT = Number(process.env['BENCH_PROMPT'] ?? 64);
const NEW = Number(process.env['BENCH_NEW'] ?? 128);
const RECOMPUTE_NEW = Number(process.env['BENCH_RECOMPUTE_NEW'] ?? 32);
// BENCH_PARTS=sampled,greedy,recompute,pairs,serve,sampler (default: all)
const PARTS = new Set(
  (process.env['BENCH_PARTS'] ?? 'sampled,greedy,recompute,pairs,serve,sampler').split(','),
);
const SERVE_REPS = Number(process.env['BENCH_SERVE_REPS'] ?? 5);

const emit = (o: Record<string, unknown>) => console.log(JSON.stringify(o));

async function timed<T>(f: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await f();
  return { ms: performance.now() - t0, value };
}

const backend = await initBackend();
const dir = await mkdtemp(join(tmpdir(), 'remax-rollout-bench-'));
try {
  await writeRandomCheckpoint(dir, SMALL, 1);
  const loaded = await loadCausalLM(dir);
  // Times the model's forward calls (wasm runs synchronously inside forward),
  // so the rest of generate's time is sampling, data transfer and bookkeeping.
  let forwardMs = 0;
  const model: DecodingModel = {
    createKVCache: (b, l) => loaded.createKVCache(b, l),
    forward: (args) => {
      const t0 = performance.now();
      const out = loaded.forward(args);
      forwardMs += performance.now() - t0;
      return out;
    },
  };
  const rng = Rng.fromSeed(2);
  const ids = Array.from({ length: BATCH }, () =>
    Array.from({ length: PROMPT }, () => 3 + rng.nextInt(SMALL.vocab_size - 3)),
  );
  const prompts = { inputIds: ids, attentionMask: ids.map((r) => r.map(() => 1)) };
  const shape = { backend, batch: BATCH, prompt: PROMPT, config: 'small' };
  const sampled = { temperature: 0.7, topP: 0.9, seed: 3, eosTokenId: [] as number[] };
  const run = (opts: Parameters<typeof generate>[2], p = prompts) =>
    timed(async () => {
      const r = await generate(model, p, opts);
      const n = r.responseLengths.reduce((a, b) => a + b, 0);
      r.dispose();
      return n;
    });

  await run({ ...sampled, maxNewTokens: 4 }); // warm-up: weight packing, kernels

  const tensorsAfterWarmup = tf.memory().numTensors;
  forwardMs = 0;
  const cachedSampled = await run({
    ...sampled,
    maxNewTokens: PARTS.has('sampled') || PARTS.has('pairs') ? NEW : 1,
  });
  const sampledForwardMs = forwardMs;
  if (PARTS.has('sampled'))
    emit({
      bench: 'generate.sampled.kvCache',
      ...shape,
      newTokens: NEW,
      sampling: 'T=0.7 top_p=0.9',
      ms: Math.round(cachedSampled.ms),
      tokensPerSecond: +((cachedSampled.value / cachedSampled.ms) * 1000).toFixed(1),
      anchorPyTorchTokensPerSecond: 192,
      modelForwardMs: Math.round(sampledForwardMs),
      outsideModelMs: Math.round(cachedSampled.ms - sampledForwardMs),
    });
  const cachedGreedy = await run({
    greedy: true,
    eosTokenId: [],
    maxNewTokens: PARTS.has('greedy') || PARTS.has('pairs') ? NEW : 1,
  });
  if (PARTS.has('greedy'))
    emit({
      bench: 'generate.greedy.kvCache',
      ...shape,
      newTokens: NEW,
      ms: Math.round(cachedGreedy.ms),
      tokensPerSecond: +((cachedGreedy.value / cachedGreedy.ms) * 1000).toFixed(1),
    });

  // KV cache vs recompute on the same (shorter) decode, both measured here.
  if (PARTS.has('recompute')) {
    const shortCached = await run({ ...sampled, maxNewTokens: RECOMPUTE_NEW });
    const recompute = await run({ ...sampled, maxNewTokens: RECOMPUTE_NEW, useKVCache: false });
    emit({
      bench: 'generate.kvCache_vs_recompute',
      ...shape,
      newTokens: RECOMPUTE_NEW,
      kvCacheMs: Math.round(shortCached.ms),
      recomputeMs: Math.round(recompute.ms),
      speedup: +(recompute.ms / shortCached.ms).toFixed(2),
    });
  }

  // pairs mode (2B rows, one prefill, one loop) vs a sampled call + a greedy call
  if (PARTS.has('pairs')) {
    const pairs = await run({ ...sampled, maxNewTokens: NEW, pairs: true });
    const twoCalls = cachedSampled.ms + cachedGreedy.ms;
    emit({
      bench: 'generate.pairs_vs_two_calls',
      ...shape,
      newTokens: NEW,
      pairsMs: Math.round(pairs.ms),
      twoCallsMs: Math.round(twoCalls),
      speedup: +(twoCalls / pairs.ms).toFixed(2),
      pairsTokensPerSecond: +((pairs.value / pairs.ms) * 1000).toFixed(1),
    });
  }
  // the same ReMax rollout through `serve` (HTTP, vLLM protocol, batching queue) vs in-process
  if (PARTS.has('serve')) emit({ ...(await serveOverhead(loaded, ids, NEW, SERVE_REPS)), backend });
  emit({
    bench: 'tensors.generate',
    afterWarmup: tensorsAfterWarmup,
    afterAllRuns: tf.memory().numTensors,
  });
  loaded.dispose();
} finally {
  await rm(dir, { recursive: true, force: true });
}

// Sampler alone: partial selection vs the full-sort reference on 32000-entry rows.
const V = SMALL.vocab_size;
const rowRng = Rng.fromSeed(4);
const rows = {
  peaked: Float32Array.from({ length: V }, () => rowRng.nextNormal() * 3),
  flat: Float32Array.from({ length: V }, () => rowRng.nextNormal() * 0.1),
};
const sampler = new TokenSampler(V);
const params = { temperature: 0.7, topK: 0, topP: 0.9 };
for (const [name, row] of PARTS.has('sampler') ? Object.entries(rows) : []) {
  const reps = 30;
  const time = (f: () => unknown) => {
    for (let i = 0; i < 5; i++) f(); // warm-up (JIT)
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) f();
    return (performance.now() - t0) / reps;
  };
  const fastMs = time(() => sampler.kept(row, params));
  const sortMs = time(() => naiveKept(row, params));
  emit({
    bench: `sampler.topP.${name}`,
    vocab: V,
    kept: sampler.kept(row, params).ids.length,
    fastMs: +fastMs.toFixed(3),
    fullSortMs: +sortMs.toFixed(3),
    speedup: +(sortMs / fastMs).toFixed(1),
  });
}
