// pnpm bench: JSON lines. Forward and forward+backward throughput of the "small"
// config (issue 5), the GFLOP/s ratio to a plain matMul of the same total FLOPs
// measured in the same run, where one forward's time goes (profile), a
// breakdown by component, the attention strategies, and the KV-cache decode step.
// REMAX_WASM_THREADS=1 measures one thread; BENCH_ATTENTION=auto,batched picks the strategies.
import { backendInfo, initBackend, linear, logprobsFromLogits, Rng, tf } from '@remax/core';
import { type AttentionMatMul, attention, groupedMatMul } from '../src/attention.js';
import { type CausalLM, createCausalLM, SMALL_MISTRAL_CONFIG } from '../src/index.js';
import { rmsNormHost, rmsNormOps } from '../src/kernels/rmsNorm.js';
import { ropeHost, ropeOps, ropeTables } from '../src/kernels/rope.js';
import { profileByKind } from './profile.js';
import { bestMs, bestMsInterleaved, emit, settle, sync } from './timing.js';

const small = SMALL_MISTRAL_CONFIG;
const B = 8;
const T = 128;
const only = process.argv[2]; // optional: run one section
// attention strategies the decode, forward and profile sections compare (default: auto,batched)
const strategies = (process.env['BENCH_ATTENTION'] ?? 'auto,batched').split(
  ',',
) as AttentionMatMul[];

const backend = await initBackend();
const threads = backendInfo().wasmThreads;
const rng = Rng.fromSeed(0);
const model = createCausalLM(small, { rng });
const d = model.dims;
const N = B * T;
const ids = Array.from({ length: B }, () => Array.from({ length: T }, () => rng.nextInt(d.vocab)));
const mask = ids.map((r) => r.map(() => 1));

// FLOPs of one forward (multiply-add = 2): linears, LM head, attention products (full T x T).
const kvDim = d.kvHeads * d.headDim;
const linearFlops =
  2 *
  N *
  d.layers *
  (2 * d.hidden * d.hidden + 2 * d.hidden * kvDim + 3 * d.hidden * d.intermediate);
const headFlops = 2 * N * d.hidden * d.vocab;
const attnFlops = d.layers * 2 * 2 * B * d.heads * T * T * d.headDim;
const forwardFlops = linearFlops + headFlops + attnFlops;
const gflops = (flops: number, ms: number) => flops / ms / 1e6;

// Reference: plain 2-D matMul with the same total FLOPs (square n³ · 2 = forwardFlops).
const n = Math.round(Math.cbrt(forwardFlops / 2));
const ma = tf.randomNormal([n, n]) as tf.Tensor2D;
const mb = tf.randomNormal([n, n]) as tf.Tensor2D;
const matMulMs = await bestMs(() => sync(() => tf.matMul(ma, mb)));
const matMulRate = gflops(2 * n * n * n, matMulMs);
tf.dispose([ma, mb]);
emit({
  bench: 'reference-matmul',
  backend,
  threads,
  shape: [n, n, n],
  ms: matMulMs,
  gflops: matMulRate,
});

async function forwardBench(m: CausalLM, label: string) {
  // the reference again, interleaved with the forward: the machine's load drifts within a run
  const ra = tf.randomNormal([n, n]) as tf.Tensor2D;
  const rb = tf.randomNormal([n, n]) as tf.Tensor2D;
  const [refMs, fwdMs] = (await bestMsInterleaved([
    () => sync(() => tf.matMul(ra, rb)),
    () => sync(() => m.forward({ inputIds: ids, attentionMask: mask })),
  ])) as [number, number];
  const refRate = gflops(2 * n * n * n, refMs);
  tf.dispose([ra, rb]);
  const vars = [...m.parameters().values()];
  const fbMs = await bestMs(() => {
    const { value, grads } = tf.variableGrads(
      () => tf.sum(m.logprobsOf({ inputIds: ids, attentionMask: mask })) as tf.Scalar,
      vars,
    );
    for (const g of Object.values(grads)) settle(g);
    tf.dispose([value, ...Object.values(grads)]);
  }, 2);
  const rate = gflops(forwardFlops, fwdMs);
  emit({
    bench: 'small-forward',
    attention: label,
    backend,
    threads,
    batch: B,
    tokens: T,
    forward_ms: fwdMs,
    forward_tokens_per_s: (N / fwdMs) * 1000,
    forward_gflops: rate,
    reference_matmul_gflops: refRate,
    ratio_to_matmul: rate / refRate,
    forward_backward_ms: fbMs,
    forward_backward_tokens_per_s: (N / fbMs) * 1000,
  });
}

if (!only || only === 'decode') {
  // Rollout shape: 8 sampled + 8 greedy rows, 64-token prompt, then one token per step.
  const rows = 16;
  const prompt = 64;
  const steps = 16;
  const pIds = Array.from({ length: rows }, () =>
    Array.from({ length: prompt }, () => rng.nextInt(d.vocab)),
  );
  for (const how of strategies) {
    model.attentionMatMul = how;
    const run = async () => {
      const cache = model.createKVCache(rows, prompt + steps);
      const m = pIds.map((r) => r.map(() => 1));
      const t0 = performance.now();
      sync(() =>
        model.forward({ inputIds: pIds, attentionMask: m, kvCache: cache, lastOnly: true }),
      );
      const t1 = performance.now();
      for (let s = 0; s < steps; s++) {
        for (const r of m) r.push(1);
        const next = pIds.map(() => [rng.nextInt(d.vocab)]);
        sync(() =>
          model.forward({ inputIds: next, attentionMask: m, kvCache: cache, lastOnly: true }),
        );
      }
      const t2 = performance.now();
      cache.dispose();
      return { prefill: t1 - t0, step: (t2 - t1) / steps };
    };
    await run();
    const res = await run();
    emit({
      bench: 'small-kv-decode',
      attention: how,
      backend,
      threads,
      rows,
      prompt,
      prefill_ms: res.prefill,
      decode_step_ms: res.step,
      decode_tokens_per_s: (rows / res.step) * 1000,
    });
  }
  model.attentionMatMul = 'auto';
}
if (!only || only === 'forward') {
  for (const how of strategies) {
    model.attentionMatMul = how;
    await forwardBench(model, how);
  }
  model.attentionMatMul = 'auto';
}

if (!only || only === 'profile') {
  // One forward (LM head included), and one forward + backward of the summed
  // logprobs, by kind of work; best of 3 by wall time.
  const kindOf = (kernel: string, shapes: number[][]) => {
    if (kernel !== 'BatchMatMul') return kernel;
    const [a, b] = shapes as [number[], number[]];
    if ([...a, ...b].includes(d.vocab)) return 'lm_head_matmuls';
    if (a.length === 2 && (a[0] === N || a[1] === N)) return 'linear_matmuls';
    return 'attention_matmuls';
  };
  const vars = [...model.parameters().values()];
  const runs = {
    forward: () => sync(() => model.forward({ inputIds: ids, attentionMask: mask })),
    forward_backward: () => {
      const { value, grads } = tf.variableGrads(
        () => tf.sum(model.logprobsOf({ inputIds: ids, attentionMask: mask })) as tf.Scalar,
        vars,
      );
      for (const g of Object.values(grads)) settle(g);
      tf.dispose([value, ...Object.values(grads)]);
    },
  };
  for (const how of strategies) {
    model.attentionMatMul = how;
    for (const [pass, run] of Object.entries(runs)) {
      run();
      let best: Record<string, number> | null = null;
      for (let i = 0; i < 3; i++) {
        const p = profileByKind(run, kindOf);
        if (!best || (p['wall'] as number) < (best['wall'] as number)) best = p;
      }
      const rounded = Object.fromEntries(
        Object.entries(best ?? {})
          .sort((x, y) => y[1] - x[1])
          .map(([k, v]) => [k, Math.round(v * 10) / 10]),
      );
      emit({ bench: `small-${pass}-profile-ms`, attention: how, backend, threads, ...rounded });
    }
  }
  model.attentionMatMul = 'auto';
}

if (!only || only === 'breakdown') {
  // Components at the same shapes, one layer's worth x layers.
  const r = (shape: number[]) => tf.randomNormal(shape);
  const x = r([N, d.hidden]) as tf.Tensor2D;
  const wQ = r([d.hidden, d.hidden]) as tf.Tensor2D;
  const wK = r([d.hidden, kvDim]) as tf.Tensor2D;
  const wG = r([d.hidden, d.intermediate]) as tf.Tensor2D;
  const wD = r([d.intermediate, d.hidden]) as tf.Tensor2D;
  const wHead = r([d.hidden, d.vocab]) as tf.Tensor2D;
  const q = r([N, d.heads, d.headDim]) as tf.Tensor3D;
  const kT = r([B * d.kvHeads, d.headDim, T]) as tf.Tensor3D;
  const v = r([B * d.kvHeads, T, d.headDim]) as tf.Tensor3D;
  const bias = tf.zeros([B, T, T]) as tf.Tensor3D;
  const logits = r([B, T, d.vocab]) as tf.Tensor3D;
  const idsT = tf.tensor2d(ids, [B, T], 'int32');
  const parts: Record<string, number> = {};
  parts['qkvo_projections'] =
    d.layers *
    (await bestMs(() => sync(() => [linear(x, wQ), linear(x, wK), linear(x, wK), linear(x, wQ)])));
  parts['mlp'] =
    d.layers *
    (await bestMs(() =>
      sync(() => {
        const g = linear(x, wG);
        return linear(tf.mul(tf.mul(g, tf.sigmoid(g)), linear(x, wG)) as tf.Tensor2D, wD);
      }),
    ));
  for (const how of ['host', 'batched', 'perGroup'] as const) {
    parts[`attention_${how}`] =
      d.layers * (await bestMs(() => sync(() => attention(q, kT, v, bias, B, T, how))));
  }
  // element-wise parts: host loops (used on wasm/cpu) vs the tensor ops they replaced
  const w = tf.ones([d.hidden]) as tf.Tensor1D;
  const tables = ropeTables(
    Int32Array.from({ length: N }, (_, i) => i % T),
    d.headDim,
    d.ropeTheta,
  );
  parts['rmsnorm_host'] =
    (2 * d.layers + 1) * (await bestMs(() => sync(() => rmsNormHost(x, w, d.eps))));
  parts['rmsnorm_ops'] =
    (2 * d.layers + 1) * (await bestMs(() => sync(() => rmsNormOps(x, w, d.eps))));
  parts['rope_q_host'] = d.layers * (await bestMs(() => sync(() => ropeHost(q, tables))));
  parts['rope_q_ops'] = d.layers * (await bestMs(() => sync(() => ropeOps(q, tables))));
  parts['lm_head'] = await bestMs(() => sync(() => linear(x, wHead)));
  parts['logprobs_softmax'] = await bestMs(() => sync(() => logprobsFromLogits(logits, idsT)));
  // the products alone, to separate matMul time from the softmax/transposes around them
  const qg = r([B * d.kvHeads, 2 * T, d.headDim]) as tf.Tensor3D;
  for (const how of ['perGroup', 'batched'] as const) {
    parts[`attention_products_only_${how}`] =
      d.layers * (await bestMs(() => sync(() => groupedMatMul(qg, kT, how))));
  }
  emit({ bench: 'small-breakdown-forward-ms', backend, threads, ...parts });
  tf.dispose([x, wQ, wK, wG, wD, wHead, q, kT, v, bias, logits, idsT, qg, w]);
}

model.dispose();
