// Every host-memory kernel of core agrees with its tensor-op twin, on wasm and cpu.
import { afterAll, describe, expect, it } from 'vitest';
import { initBackend, Rng, tf } from '../src/index.js';
import { type AdamWScalars, adamwHost, adamwOnHost, adamwOps } from '../src/kernels/adamw.js';
import { wasmAdamW } from '../src/kernels/wasmSimd.js';

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
      expect(wasmAdamW() !== null).toBe(backend === 'wasm');
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
