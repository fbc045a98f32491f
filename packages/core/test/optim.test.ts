// AdamW, clip_grad_norm_ and the schedules against fixtures/algo/optim.json
// (float64 PyTorch / transformers), plus resume, guard, accumulation and leaks.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AdamW,
  accumulateGradients,
  clipGradNorm,
  cosineWithWarmup,
  GradientAccumulator,
  gradsByName,
  initBackend,
  isRemaxError,
  linearWithWarmup,
  lrMultiplier,
  optimizerStep,
  tf,
} from '../src/index.js';

interface AdamWCase {
  lr: number;
  betas: [number, number];
  eps: number;
  weight_decay: number;
  param0: number[];
  grads: number[][];
  params_after_each_step: number[][];
}
/** One tensor as nested lists (the fixture has a [5] and a [2, 3] gradient). */
type Nested = number[] | number[][];
interface OptimFixture {
  adamw: AdamWCase[];
  clip_grad_norm: {
    max_norm: number;
    grads: Nested[];
    total_norm_before: number;
    clipped: Nested[];
  };
  schedules: { warmup: number; total: number; cosine: number[]; linear: number[] };
}
const fixture = JSON.parse(
  readFileSync(
    fileURLToPath(new URL('../../../fixtures/algo/optim.json', import.meta.url)),
    'utf8',
  ),
) as OptimFixture;

/** Largest |a - b| / |b| (|b| floored at 1e-12 so exact zeros still compare). */
function maxRelErr(got: ArrayLike<number>, want: readonly number[]): number {
  expect(got.length).toBe(want.length);
  let worst = 0;
  want.forEach((w, i) => {
    const err = Math.abs((got[i] as number) - w) / Math.max(Math.abs(w), 1e-12);
    if (!(err <= worst)) worst = err;
  });
  return worst;
}

function params(values: Record<string, number[]>): Map<string, tf.Variable> {
  const m = new Map<string, tf.Variable>();
  for (const [name, v] of Object.entries(values)) m.set(name, tf.variable(tf.tensor1d(v), true));
  return m;
}
function grads(values: Record<string, number[]>): Map<string, tf.Tensor> {
  return new Map(Object.entries(values).map(([k, v]) => [k, tf.tensor1d(v)]));
}
function disposeAll(m: Map<string, tf.Tensor>): void {
  for (const t of m.values()) t.dispose();
}

beforeAll(async () => {
  await initBackend();
});

/** torch.optim.AdamW's documented update, transcribed in float64 (the naive reference). */
function naiveAdamW(
  param0: readonly number[],
  gradSteps: readonly (readonly number[])[],
  c: { lr: number; betas: readonly [number, number]; eps: number; weight_decay: number },
): number[][] {
  const p = [...param0];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  const [b1, b2] = c.betas;
  return gradSteps.map((g, k) => {
    const t = k + 1;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i] as number;
      p[i] = (p[i] as number) * (1 - c.lr * c.weight_decay);
      m[i] = b1 * (m[i] as number) + (1 - b1) * gi;
      v[i] = b2 * (v[i] as number) + (1 - b2) * gi * gi;
      const mHat = (m[i] as number) / (1 - b1 ** t);
      const vHat = (v[i] as number) / (1 - b2 ** t);
      p[i] = (p[i] as number) - (c.lr * mHat) / (Math.sqrt(vHat) + c.eps);
    }
    return [...p];
  });
}

describe('AdamW matches torch.optim.AdamW (optim.json)', () => {
  it('the float64 transcription of the update rule reproduces the fixture to 1e-12', () => {
    for (const c of fixture.adamw) {
      const got = naiveAdamW(c.param0, c.grads, c);
      got.forEach((row, s) => {
        expect(maxRelErr(row, c.params_after_each_step[s] as number[])).toBeLessThan(1e-12);
      });
    }
  });

  it('equals the transcription where float32 resolves every update (eps-dominated gradients)', () => {
    // Params start at 0 so each update is fully resolved; gradients from 1e-8 to 10
    // make eps placement and bias correction visible.
    const cfg = { lr: 0.01, betas: [0.9, 0.95] as [number, number], eps: 1e-6, weight_decay: 0.1 };
    const gradSteps = [
      [1e-8, -3e-7, 2e-6, 1e-3, -10],
      [2e-8, 1e-7, -1e-6, 2e-3, 5],
      [-1e-8, 2e-7, 3e-6, -1e-3, 1],
    ];
    const want = naiveAdamW([0, 0, 0, 0, 0], gradSteps, cfg);
    const p = params({ w: [0, 0, 0, 0, 0] });
    const opt = new AdamW(p, {
      lr: cfg.lr,
      betas: cfg.betas,
      eps: cfg.eps,
      weightDecay: cfg.weight_decay,
    });
    gradSteps.forEach((g, s) => {
      const gm = grads({ w: g });
      opt.apply(gm);
      disposeAll(gm);
      expect(maxRelErr((p.get('w') as tf.Variable).dataSync(), want[s] as number[])).toBeLessThan(
        1e-5,
      );
    });
    opt.dispose();
    disposeAll(p);
  });

  fixture.adamw.forEach((c, k) => {
    it(`setting ${k}: lr ${c.lr}, betas ${c.betas}, eps ${c.eps}, weight decay ${c.weight_decay}`, () => {
      const p = params({ w: c.param0 });
      const opt = new AdamW(p, {
        lr: c.lr,
        betas: c.betas,
        eps: c.eps,
        weightDecay: c.weight_decay,
      });
      c.grads.forEach((g, step) => {
        const gm = grads({ w: g });
        opt.apply(gm);
        disposeAll(gm);
        const want = c.params_after_each_step[step] as number[];
        expect(maxRelErr((p.get('w') as tf.Variable).dataSync(), want)).toBeLessThanOrEqual(1e-6);
      });
      expect(opt.step).toBe(c.grads.length);
      opt.dispose();
      disposeAll(p);
    });
  });

  it('applies weight decay only where `decay` says, and leaves params without a gradient alone', () => {
    const c = fixture.adamw.find((x) => x.weight_decay > 0) as AdamWCase;
    const p = params({ w: c.param0, 'norm.weight': c.param0, frozen: c.param0 });
    const opt = new AdamW(
      p,
      { lr: c.lr, betas: c.betas, eps: c.eps, weightDecay: c.weight_decay },
      { decay: (name) => !name.includes('norm') },
    );
    const ref = new AdamW(params({ w: c.param0 }), {
      lr: c.lr,
      betas: c.betas,
      eps: c.eps,
      weightDecay: 0,
    });
    const g = grads({ w: c.grads[0] as number[], 'norm.weight': c.grads[0] as number[] });
    opt.apply(g);
    const noDecay = params({ w: c.param0 });
    const refNoDecay = new AdamW(noDecay, { lr: c.lr, betas: c.betas, eps: c.eps, weightDecay: 0 });
    refNoDecay.apply(new Map([['w', g.get('w') as tf.Tensor]]));
    expect(
      maxRelErr((p.get('w') as tf.Variable).dataSync(), c.params_after_each_step[0] as number[]),
    ).toBeLessThan(1e-6);
    expect(Array.from((p.get('norm.weight') as tf.Variable).dataSync())).toEqual(
      Array.from((noDecay.get('w') as tf.Variable).dataSync()),
    );
    expect(Array.from((p.get('frozen') as tf.Variable).dataSync())).toEqual(
      Array.from(Float32Array.from(c.param0)),
    );
    disposeAll(g);
    for (const o of [opt, ref, refNoDecay]) o.dispose();
    disposeAll(p);
    disposeAll(noDecay);
  });

  it('rejects bad configs and gradients with typed errors', () => {
    const p = params({ w: [1, 2] });
    expect(() => new AdamW(p, { lr: -1 })).toThrow(/lr/);
    expect(() => new AdamW(p, { lr: 1e-3, betas: [0.9, 1] })).toThrow(/betas/);
    const opt = new AdamW(p, { lr: 1e-3 });
    const bad = grads({ w: [1, 2, 3] });
    expect(() => opt.apply(bad)).toThrow(/gradient shape differs/);
    const unknown = grads({ v: [1, 2] });
    expect(() => opt.apply(unknown)).toThrow(/unknown parameter/);
    disposeAll(bad);
    disposeAll(unknown);
    opt.dispose();
    disposeAll(p);
  });
});

describe('state() / loadState()', () => {
  it('resumes bit for bit', () => {
    const c = fixture.adamw[2] as AdamWCase;
    const cfg = { lr: c.lr, betas: c.betas, eps: c.eps, weightDecay: c.weight_decay };
    const straight = params({ w: c.param0 });
    const a = new AdamW(straight, cfg);
    for (const g of c.grads) {
      const gm = grads({ w: g });
      a.apply(gm);
      disposeAll(gm);
    }
    const first = params({ w: c.param0 });
    const b = new AdamW(first, cfg);
    for (const g of c.grads.slice(0, 3)) {
      const gm = grads({ w: g });
      b.apply(gm);
      disposeAll(gm);
    }
    const saved = b.state();
    const savedWeights = Array.from((first.get('w') as tf.Variable).dataSync());
    expect(saved.step).toBe(3);
    expect(saved.moments.get('w')?.expAvg).toBeInstanceOf(Float32Array);
    const resumedParams = params({ w: savedWeights });
    const resumed = new AdamW(resumedParams, cfg);
    resumed.loadState(saved);
    for (const g of c.grads.slice(3)) {
      const gm = grads({ w: g });
      resumed.apply(gm);
      disposeAll(gm);
    }
    expect(Array.from((resumedParams.get('w') as tf.Variable).dataSync())).toEqual(
      Array.from((straight.get('w') as tf.Variable).dataSync()),
    );
    expect(resumed.state().moments.get('w')).toEqual(a.state().moments.get('w'));
    for (const o of [a, b, resumed]) o.dispose();
    for (const m of [straight, first, resumedParams]) disposeAll(m);
  });

  it('refuses a state that does not fit, naming every problem, and changes nothing', () => {
    const p = params({ w: [1, 2, 3] });
    const opt = new AdamW(p, { lr: 0.1 });
    const g = grads({ w: [0.1, 0.2, 0.3] });
    opt.apply(g);
    const before = opt.state();
    let err: unknown;
    try {
      opt.loadState({
        step: -1,
        skippedSteps: 0,
        moments: new Map([
          ['w', { shape: [2], expAvg: new Float32Array(2), expAvgSq: new Float32Array(2) }],
          ['extra', { shape: [1], expAvg: new Float32Array(1), expAvgSq: new Float32Array(1) }],
        ]),
      });
    } catch (e) {
      err = e;
    }
    expect(isRemaxError(err, 'E_STATE')).toBe(true);
    expect((err as Error).message).toMatch(/step -1/);
    expect((err as Error).message).toMatch(/w: shape \[2\]/);
    expect((err as Error).message).toMatch(/extra: not a parameter/);
    expect(opt.state()).toEqual(before);
    disposeAll(g);
    opt.dispose();
    disposeAll(p);
  });
});

describe('clipGradNorm matches torch.nn.utils.clip_grad_norm_', () => {
  it('total norm and clipped gradients (optim.json)', () => {
    const c = fixture.clip_grad_norm;
    const g = new Map(c.grads.map((v, i) => [`g${i}`, tf.tensor(v)] as const));
    const out = clipGradNorm(g, c.max_norm);
    expect(Math.abs(out.totalNorm - c.total_norm_before) / c.total_norm_before).toBeLessThanOrEqual(
      1e-6,
    );
    c.clipped.forEach((want, i) => {
      expect(
        maxRelErr((out.grads.get(`g${i}`) as tf.Tensor).dataSync(), want.flat()),
      ).toBeLessThanOrEqual(1e-6);
    });
    expect(out.clipCoef).toBeCloseTo(c.max_norm / (c.total_norm_before + 1e-6), 6);
    disposeAll(g);
    disposeAll(out.grads);
  });

  it('leaves gradients within the bound unscaled', () => {
    const g = grads({ a: [0.3, 0.4] });
    const out = clipGradNorm(g, 1);
    expect(out.totalNorm).toBeCloseTo(0.5, 6);
    expect(out.clipCoef).toBe(1);
    expect(Array.from((out.grads.get('a') as tf.Tensor).dataSync())).toEqual(
      Array.from(Float32Array.of(0.3, 0.4)),
    );
    expect(() => clipGradNorm(g, 0)).toThrow(/maxNorm/);
    disposeAll(g);
    disposeAll(out.grads);
  });
});

describe('schedules match transformers get_*_schedule_with_warmup', () => {
  const { warmup, total, cosine, linear } = fixture.schedules;
  it('cosine and linear multipliers at every step (optim.json)', () => {
    expect(cosine.length).toBe(total + 1);
    cosine.forEach((want, s) => {
      expect(
        Math.abs(cosineWithWarmup(s, { warmupSteps: warmup, totalSteps: total }) - want),
      ).toBeLessThanOrEqual(1e-6 * Math.max(Math.abs(want), 1e-12));
      expect(lrMultiplier('cosine', s, { warmupSteps: warmup, totalSteps: total })).toBe(
        cosineWithWarmup(s, { warmupSteps: warmup, totalSteps: total }),
      );
    });
    linear.forEach((want, s) => {
      expect(
        Math.abs(linearWithWarmup(s, { warmupSteps: warmup, totalSteps: total }) - want),
      ).toBeLessThanOrEqual(1e-6 * Math.max(Math.abs(want), 1e-12));
    });
  });

  it('constant schedule and input checks', () => {
    expect(lrMultiplier('constant', 1, { warmupSteps: 4, totalSteps: 10 })).toBe(0.25);
    expect(lrMultiplier('constant', 9, { warmupSteps: 4, totalSteps: 10 })).toBe(1);
    expect(() => linearWithWarmup(-1, { warmupSteps: 1, totalSteps: 2 })).toThrow(/step/);
    expect(() => lrMultiplier('exp' as never, 0, { warmupSteps: 1, totalSteps: 2 })).toThrow(
      /constant \| linear \| cosine/,
    );
  });
});

describe('optimizerStep: guard, clip, update', () => {
  it('skips a non-finite loss or gradient without touching weights or moments', () => {
    const p = params({ w: [1, -2, 3] });
    const opt = new AdamW(p, { lr: 0.1, weightDecay: 0.1 });
    const ok = grads({ w: [0.5, 0.5, -0.5] });
    optimizerStep(opt, ok, { maxGradNorm: 1 });
    const weights = Array.from((p.get('w') as tf.Variable).dataSync());
    const state = opt.state();
    const nan = grads({ w: [0.5, Number.NaN, 0.1] });
    const inf = grads({ w: [Number.POSITIVE_INFINITY, 0, 0.1] });
    const r1 = optimizerStep(opt, nan, { maxGradNorm: 1 });
    const r2 = optimizerStep(opt, inf, {});
    const r3 = optimizerStep(opt, ok, { loss: Number.NaN });
    const r4 = optimizerStep(opt, ok, { lossFinite: false });
    expect([r1.reason, r2.reason, r3.reason, r4.reason]).toEqual([
      'non-finite gradient',
      'non-finite gradient',
      'non-finite loss',
      'non-finite loss',
    ]);
    expect(r4.skippedSteps).toBe(4);
    expect(r4.step).toBe(1);
    expect(Array.from((p.get('w') as tf.Variable).dataSync())).toEqual(weights);
    expect(opt.state().moments).toEqual(state.moments);
    expect(opt.state().skippedSteps).toBe(4);
    const r5 = optimizerStep(opt, ok, { loss: 0.3, lr: 0.05 });
    expect(r5.skipped).toBe(false);
    expect(r5.step).toBe(2);
    expect(r5.lr).toBe(0.05);
    for (const m of [ok, nan, inf]) disposeAll(m);
    opt.dispose();
    disposeAll(p);
  });

  it('clips like clip_grad_norm_ before AdamW', () => {
    const c = fixture.clip_grad_norm;
    const named = Object.fromEntries(c.grads.map((v, i) => [`g${i}`, v.flat()]));
    const zeros = Object.fromEntries(c.grads.map((v, i) => [`g${i}`, v.flat().map(() => 0)]));
    const a = params(zeros);
    const b = params(zeros);
    const optA = new AdamW(a, { lr: 0.01, weightDecay: 0 });
    const optB = new AdamW(b, { lr: 0.01, weightDecay: 0 });
    const g = grads(named);
    const res = optimizerStep(optA, g, { maxGradNorm: c.max_norm });
    expect(res.clipCoef).toBeLessThan(1);
    expect(Math.abs(res.gradNorm - c.total_norm_before) / c.total_norm_before).toBeLessThan(1e-6);
    const clipped = grads(Object.fromEntries(c.clipped.map((v, i) => [`g${i}`, v.flat()])));
    optB.apply(clipped);
    for (const name of a.keys()) {
      const x = (a.get(name) as tf.Variable).dataSync();
      const y = Array.from((b.get(name) as tf.Variable).dataSync());
      expect(maxRelErr(x, y)).toBeLessThan(1e-5);
    }
    for (const m of [g, clipped, a, b]) disposeAll(m);
    optA.dispose();
    optB.dispose();
  });
});

describe('gradient accumulation', () => {
  it("'mean' over equal micro-batches equals the full-batch gradient; 'sum' is the sum", () => {
    const p = new Map<string, tf.Variable>([
      ['model.w', tf.variable(tf.tensor2d([0.1, -0.2, 0.3, 0.4, -0.5, 0.6], [3, 2]))],
      ['model.b', tf.variable(tf.tensor1d([0.01, -0.02]))],
    ]);
    const x = tf.tensor2d([1, 2, 3, -1, 0, 1, 2, 2, 2, -3, 1, 0], [4, 3]);
    const loss = (rows: tf.Tensor2D): tf.Scalar =>
      tf.mean(
        tf.square(
          tf.tanh(
            tf.add(
              tf.matMul(rows, p.get('model.w') as tf.Variable),
              p.get('model.b') as tf.Variable,
            ),
          ),
        ),
      );
    const full = gradsByName(() => loss(x), p);
    const halves = [tf.slice(x, [0, 0], [2, 3]), tf.slice(x, [2, 0], [2, 3])] as tf.Tensor2D[];
    const mean = accumulateGradients(p, halves, loss, 'mean');
    const sum = accumulateGradients(p, halves, loss, 'sum');
    expect(mean.microBatches).toBe(2);
    expect(mean.lossFinite).toBe(true);
    expect(Math.abs(mean.loss - full.loss)).toBeLessThan(1e-6);
    for (const name of p.keys()) {
      const f = Array.from((full.grads.get(name) as tf.Tensor).dataSync());
      expect(maxRelErr((mean.grads.get(name) as tf.Tensor).dataSync(), f)).toBeLessThan(1e-5);
      expect(
        maxRelErr(
          (sum.grads.get(name) as tf.Tensor).dataSync(),
          f.map((v) => 2 * v),
        ),
      ).toBeLessThan(1e-5);
    }
    const acc = new GradientAccumulator();
    acc.add(full.grads, Number.NaN);
    const r = acc.result();
    expect(r.lossFinite).toBe(false);
    expect(() => acc.result()).toThrow(/no micro-batch/);
    for (const m of [full.grads, mean.grads, sum.grads, r.grads, p]) disposeAll(m);
    tf.dispose([x, ...halves]);
  });
});

describe('no tensor leaks', () => {
  it('accumulate + clip + AdamW steps keep tf.memory().numTensors flat', () => {
    const p = new Map<string, tf.Variable>([
      ['w', tf.variable(tf.randomNormal([4, 3], 0, 1, 'float32', 3))],
      ['b', tf.variable(tf.zeros([3]))],
    ]);
    const x = [
      tf.randomNormal([2, 4], 0, 1, 'float32', 4),
      tf.randomNormal([2, 4], 0, 1, 'float32', 5),
    ] as tf.Tensor2D[];
    const opt = new AdamW(p, { lr: 1e-2 });
    const lossOf = (rows: tf.Tensor2D): tf.Scalar =>
      tf.neg(
        tf.mean(
          tf.logSoftmax(
            tf.add(tf.matMul(rows, p.get('w') as tf.Variable), p.get('b') as tf.Variable),
          ),
        ),
      ) as tf.Scalar;
    const once = (): void => {
      const acc = accumulateGradients(p, x, lossOf);
      optimizerStep(opt, acc.grads, { loss: acc.loss, maxGradNorm: 0.1, lr: 1e-2 });
      disposeAll(acc.grads);
      opt.state();
    };
    once(); // creates the moments
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) once();
    expect(tf.memory().numTensors).toBe(before);
    opt.dispose();
    expect(tf.memory().numTensors).toBe(before - 4);
    tf.dispose(x);
    disposeAll(p);
  });
});
