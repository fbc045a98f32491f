// Every host-memory kernel of core agrees with its twin (tensor ops, or the plain
// JS loop it replaces), on wasm and cpu.
import { afterAll, describe, expect, it } from 'vitest';
import { initBackend, Rng, tf } from '../src/index.js';
import { type AdamWScalars, adamwHost, adamwOnHost, adamwOps } from '../src/kernels/adamw.js';
import { allocateHost, hostView } from '../src/kernels/hostMemory.js';
import {
  klRowTerms,
  rowExps,
  rowLogSumExp,
  rowMax,
  scaleRow,
  scratchRow,
  writeLogprobGradRow,
  writeProbRow,
} from '../src/kernels/hostSoftmax.js';
import {
  jsSamplingKernels,
  massUnits,
  type SamplingKernels,
  wasmSamplingKernels,
} from '../src/kernels/samplingKernels.js';
import { wasmKernels } from '../src/kernels/wasmKernels.js';

const rng = Rng.fromSeed(18);
function randn(n: number, scale: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.nextNormal() * scale);
}

afterAll(async () => {
  await initBackend();
});

describe.each(['wasm', 'cpu'] as const)('AdamW kernel on %s', (backend) => {
  it('the host loop equals the tensor ops bit for bit over 3 steps (decay, clip scale, tiny and large gradients)', async () => {
    const saved = process.env['REMAX_BACKEND'];
    delete process.env['REMAX_BACKEND'];
    try {
      expect(await initBackend(backend)).toBe(backend);
    } finally {
      if (saved !== undefined) process.env['REMAX_BACKEND'] = saved;
    }
    const n = 4099; // not a multiple of the SIMD width
    const p0 = randn(n, 0.5);
    const slots = ['host', 'ops'].map(() => ({
      param: tf.variable(tf.tensor1d(p0)),
      expAvg: tf.variable(tf.zeros([n]), false),
      expAvgSq: tf.variable(tf.zeros([n]), false),
    }));
    const [host, ops] = slots as [(typeof slots)[0], (typeof slots)[0]];
    const before = tf.memory().numTensors;
    for (let t = 1; t <= 3; t++) {
      // gradients from 1e-9 to 10: eps-dominated and well-resolved updates
      const g = tf.tensor1d(randn(n, 10 ** (t - 3)).map((x, i) => (i % 7 === 0 ? x * 1e-6 : x)));
      const s: AdamWScalars = {
        decayFactor: 1 - 1e-3 * 0.1,
        beta1: 0.9,
        beta2: 0.95,
        stepSize: 1e-3 / (1 - 0.9 ** t),
        bias2Sqrt: Math.sqrt(1 - 0.95 ** t),
        eps: 1e-8,
        gradScale: t === 2 ? 0.3712 : 1,
      };
      expect(adamwOnHost(host, g)).toBe(true);
      // on wasm the SIMD loop runs (n % 4 elements in JS), on cpu the JS loop
      expect(wasmKernels() !== null).toBe(backend === 'wasm');
      adamwHost(host, g, s);
      adamwOps(ops, g, s);
      g.dispose();
      for (const k of ['param', 'expAvg', 'expAvgSq'] as const) {
        expect(Array.from(host[k].dataSync()), `${k} step ${t}`).toEqual(
          Array.from(ops[k].dataSync()),
        );
      }
    }
    expect(tf.memory().numTensors).toBe(before);
    for (const s of slots) tf.dispose([s.param, s.expAvg, s.expAvgSq]);
  });
});

describe('float64 exp kernels on wasm (log-softmax rows)', () => {
  it('logsumexp, the exps and the logprob gradient row agree with Math.exp loops', async () => {
    const saved = process.env['REMAX_BACKEND'];
    delete process.env['REMAX_BACKEND'];
    try {
      expect(await initBackend('wasm')).toBe('wasm');
    } finally {
      if (saved !== undefined) process.env['REMAX_BACKEND'] = saved;
    }
    expect(wasmKernels()).not.toBeNull();
    const V = 32001; // odd: the last element goes through JS
    const R = 3;
    // logits from -1e9 (masked) and -800 (below exp's range) to +40
    const values = randn(R * V, 8).map((x, i) => (i % 97 === 0 ? -1e9 : i % 89 === 0 ? -800 : x));
    values[5] = 40;
    const x = tf.tensor1d(values);
    const out = allocateHost([R * V]);
    const holder = allocateHost([2 * V + 1]);
    const xs = hostView(x) as Float32Array;
    const os = hostView(out) as Float32Array;
    const scratch = scratchRow(hostView(holder), V);
    expect(scratch.buffer).toBe(xs.buffer); // in wasm memory: the kernels write it
    for (let r = 0; r < R; r++) {
      const o = r * V;
      let m = -Infinity;
      for (let v = 0; v < V; v++) m = Math.max(m, xs[o + v] as number);
      expect(rowMax(xs, o, V)).toBe(m);
      let s = 0;
      for (let v = 0; v < V; v++) s += Math.exp((xs[o + v] as number) - m);
      const want = m + Math.log(s);
      expect(Math.abs(rowLogSumExp(xs, o, V) - want)).toBeLessThan(1e-14 * Math.abs(want));
      const { lse, sum } = rowExps(xs, o, V, scratch);
      expect(Math.abs(lse - want)).toBeLessThan(1e-14 * Math.abs(want));
      // the kernel sums in two lanes, the loop in one: both within V * 2^-53 ~ 4e-12 of exact
      expect(Math.abs(sum - s) / s).toBeLessThan(1e-12);
      let worst = 0;
      for (let v = 0; v < V; v++) {
        const e = Math.exp((xs[o + v] as number) - m);
        worst = Math.max(worst, Math.abs((scratch[v] as number) - e) / (e + 1e-290));
      }
      // below exp(-708) the kernel returns ~3e-308 instead of 0: nothing a sum or a float32 sees
      expect(worst).toBeLessThan(1e-15);
      const d = 0.37;
      writeLogprobGradRow(os, xs, o, V, want, d, 7);
      for (let v = 0; v < V; v++) {
        const g = Math.fround(-d * Math.exp((xs[o + v] as number) - want)) + (v === 7 ? d : 0);
        const got = os[o + v] as number;
        // one float32 rounding apart at most
        expect(Math.abs(got - Math.fround(g))).toBeLessThanOrEqual(Math.abs(g) * 1.2e-7 + 1e-45);
      }
    }
    // the max skips NaN like the JS loop, at any lane and in the tail
    const special = tf.tensor1d([
      Number.NaN,
      -3,
      Number.NaN,
      -1,
      -Infinity,
      -2,
      -5,
      Number.NaN,
      4,
      Number.NaN,
    ]);
    const ss = hostView(special) as Float32Array;
    expect(rowMax(ss, 0, 10)).toBe(4);
    expect(rowMax(ss, 0, 8)).toBe(-1);
    expect(rowMax(ss, 4, 1)).toBe(-Infinity);
    tf.dispose([x, out, holder, special]);
  });
});

describe('probability, scale and KL kernels on wasm (kept probabilities, scoring)', () => {
  it('writeProbRow, scaleRow and klRowTerms agree with their JS loops', async () => {
    expect(await initBackend('wasm')).toBe('wasm');
    const V = 4099; // not a multiple of 4: tails go through JS
    const x = tf.tensor1d(randn(V, 3));
    const y = tf.tensor1d(randn(V, 3));
    const out = allocateHost([V]);
    const holder = allocateHost([2 * V + 1]);
    const [xs, ys, os] = [x, y, out].map((t) => hostView(t) as Float32Array) as [
      Float32Array,
      Float32Array,
      Float32Array,
    ];
    const e = scratchRow(hostView(holder), V);
    expect(e.buffer).toBe(xs.buffer);
    const { lse, sum } = rowExps(xs, 0, V, e);
    const lq = rowLogSumExp(ys, 0, V);
    // probabilities: one float32 rounding of e / sum
    writeProbRow(os, 0, V, e, 1 / sum);
    for (let v = 0; v < V; v++) expect(os[v]).toBe(Math.fround((e[v] as number) * (1 / sum)));
    // scale in float32, bit for bit with Math.fround arithmetic
    const before = Float32Array.from(os);
    scaleRow(os, 0, V, -0.37);
    const s32 = Math.fround(-0.37);
    for (let v = 0; v < V; v++) expect(os[v]).toBe(Math.fround((before[v] as number) * s32));
    // KL terms: two-lane sums against one-lane loops
    const [px, py] = klRowTerms(xs, ys, 0, V, e, lse, lq);
    let wx = 0;
    let wy = 0;
    for (let v = 0; v < V; v++) {
      wx += (e[v] as number) * ((xs[v] as number) - lse);
      wy += (e[v] as number) * ((ys[v] as number) - lq);
    }
    expect(Math.abs(px - wx)).toBeLessThan(1e-12 * Math.abs(wx));
    expect(Math.abs(py - wy)).toBeLessThan(1e-12 * Math.abs(wy));
    tf.dispose([x, y, out, holder]);
  });
});

describe('sampling kernels: WebAssembly vs the JS twin', () => {
  const fill = (k: SamplingKernels, row: Float32Array) => k.logits.set(row);
  it('max (NaN in any lane or the tail), minAbove, exps, buckets, kept sums and walks agree', () => {
    const V = 1003;
    const wasm = wasmSamplingKernels(V, 64) as SamplingKernels;
    expect(wasm).not.toBeNull();
    const js = jsSamplingKernels(V, 64);
    for (let trial = 0; trial < 40; trial++) {
      const row = randn(V, [0.1, 1, 5, 300][trial % 4] as number);
      if (trial % 5 === 1) row[rng.nextInt(V)] = Number.NEGATIVE_INFINITY;
      fill(wasm, row);
      fill(js, row);
      const max = js.max(V);
      expect(wasm.max(V)).toBe(max);
      expect(wasm.minAbove(V)).toBe(js.minAbove(V));
      const t = [0.7, 1, 1e-3][trial % 3] as number;
      const sw = wasm.exps(V, max, t);
      const weightsAfterExps = Float64Array.from(wasm.weights);
      const sj = js.exps(V, max, t);
      expect(Math.abs(sw - sj)).toBeLessThanOrEqual(1e-14 * sj);
      for (let v = 0; v < V; v++) {
        const a = wasm.weights[v] as number;
        const b = js.weights[v] as number;
        expect(a === 0).toBe(b === 0); // the same zeros: below e^-708 and -Infinity
        expect(Math.abs(a - b)).toBeLessThanOrEqual(4.5e-16 * b);
      }
      // nucleusExps: the same weights as exps, and buckets / masses as the JS rule gives
      // from those weights (the twin's own weights may differ in the last bit)
      const span = (max - js.minAbove(V)) / t;
      const perNat = (span > 0 ? 64 / Math.min(span, 64) : 0) / t;
      const qw = wasm.nucleusExps(V, max, t, perNat, 2 ** 40);
      const qj = js.nucleusExps(V, max, t, perNat, 2 ** 40);
      expect(Math.abs(qw - qj)).toBeLessThanOrEqual(V); // one unit per weight at most
      const mass = new Float64Array(64);
      for (let v = 0; v < V; v++) {
        const w = wasm.weights[v] as number;
        expect(w).toBe(weightsAfterExps[v]);
        const b = w === 0 ? 64 : Math.min(Math.trunc((max - (row[v] as number)) * perNat), 63);
        expect(wasm.buckets[v]).toBe(b);
        if (b < 64) mass[b] = (mass[b] as number) + massUnits(w, 2 ** 40);
      }
      expect(Array.from(wasm.mass)).toEqual(Array.from(mass));
      expect(qw).toBe(mass.reduce((a, b) => a + b, 0));
      // the kept passes on the same weights and buckets: bit for bit
      js.weights.set(wasm.weights);
      js.buckets.set(wasm.buckets);
      for (const cut of [0, 3, 17, 63, 64]) {
        const members = Array.from(js.inBucket(V, cut));
        expect(members).toEqual(
          Array.from(wasm.buckets.keys()).filter((j) => wasm.buckets[j] === cut),
        );
        expect(Array.from(wasm.inBucket(V, cut))).toEqual(members);
        const total = js.keptTotal(V, cut);
        expect(wasm.keptTotal(V, cut)).toBe(total);
        for (const u of [0, 0.25, 0.999999]) {
          expect(wasm.keptWalk(V, cut, u * total)).toBe(js.keptWalk(V, cut, u * total));
        }
      }
    }
    // NaN anywhere makes the maximum NaN (the sampler's check), in a SIMD lane or the tail
    for (const at of [0, 2, 500, V - 1]) {
      const row = randn(V, 1);
      row[at] = Number.NaN;
      fill(wasm, row);
      fill(js, row);
      expect(wasm.max(V)).toBeNaN();
      expect(js.max(V)).toBeNaN();
    }
    // nothing kept: the walk says so
    wasm.buckets.fill(64);
    js.buckets.fill(64);
    expect(wasm.keptWalk(V, 0, 0)).toBe(-1);
    expect(js.keptWalk(V, 0, 0)).toBe(-1);
    expect(wasm.keptTotal(V, 0)).toBe(0);
  });
});
