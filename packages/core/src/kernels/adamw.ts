// One AdamW update of one parameter (torch.optim.AdamW's order of operations,
// see optim/adamw.ts), twice: as a single loop over host memory and as its
// tensor-op twin. Both run the same float32 operations in the same order, so
// they agree bit for bit (test/kernels.test.ts).
//
// Why one loop: the tensor ops make ~12 passes over the parameter, each
// allocating a tensor of its size. One loop reads p, g, m, v once and writes
// p, m, v once.

import { tf } from '../tf.js';
import { allocateHost, hostView } from './hostMemory.js';
import { wasmKernels } from './wasmKernels.js';

/** Scalars of one update; `gradScale` is clip_grad_norm_'s coefficient (1 = none). */
export interface AdamWScalars {
  /** 1 - lr * weight_decay (1 without decay). */
  decayFactor: number;
  beta1: number;
  beta2: number;
  /** lr / (1 - beta1^t) */
  stepSize: number;
  /** sqrt(1 - beta2^t) */
  bias2Sqrt: number;
  eps: number;
  gradScale: number;
}

/** Parameter and moments; the kernel replaces `param` (assign) and updates the moments in place. */
export interface AdamWSlot {
  param: tf.Variable;
  expAvg: tf.Variable;
  expAvgSq: tf.Variable;
}

/** Whether adamwHost can run on these tensors (float32 in host memory). */
export function adamwOnHost(slot: AdamWSlot, grad: tf.Tensor): boolean {
  return (
    grad.dtype === 'float32' &&
    hostView(grad) !== null &&
    hostView(slot.param) !== null &&
    hostView(slot.expAvg) !== null
  );
}

/**
 * The update over host memory: on wasm one f32x4 loop on the backend's own
 * memory (wasmKernels.ts), elsewhere (cpu backend, or the last < 4 elements) a
 * JS loop that rounds every operation to float32. Either way each element
 * sees the twin's float32 operations in the twin's order: the same bits.
 */
export function adamwHost(slot: AdamWSlot, grad: tf.Tensor, s: AdamWScalars): void {
  // the scalars as float32, as the tensor ops (and torch's float32 kernels) see them
  const f = Math.fround;
  const k: Scalars32 = {
    decay: f(s.decayFactor),
    oneMinusB1: f(1 - s.beta1),
    b2: f(s.beta2),
    oneMinusB2: f(1 - s.beta2),
    bias2: f(s.bias2Sqrt),
    eps: f(s.eps),
    stepSize: f(s.stepSize),
    scale: f(s.gradScale),
  };
  const simd = wasmKernels()?.adamw ?? null;
  // a new buffer for the parameter: Variable.assign gives it a new dataId, which is
  // how caches of derived tensors (the models' transposed compute copies) see the change
  const out = allocateHost(slot.param.shape);
  try {
    // views after the allocation (the wasm heap may have grown)
    const a: Arrays = {
      p: hostView(slot.param) as Float32Array,
      g: hostView(grad) as Float32Array,
      m: hostView(slot.expAvg) as Float32Array,
      v: hostView(slot.expAvgSq) as Float32Array,
      o: hostView(out) as Float32Array,
    };
    let done = 0;
    if (simd !== null) {
      const groups = Math.floor(a.p.length / 4);
      simd(
        a.p.byteOffset,
        a.g.byteOffset,
        a.m.byteOffset,
        a.v.byteOffset,
        a.o.byteOffset,
        groups,
        k.decay,
        k.oneMinusB1,
        k.b2,
        k.oneMinusB2,
        k.bias2,
        k.eps,
        k.stepSize,
        k.scale,
      );
      done = groups * 4;
    }
    adamwLoop(a, k, done);
    slot.param.assign(out);
  } finally {
    out.dispose();
  }
}

interface Scalars32 {
  decay: number;
  oneMinusB1: number;
  b2: number;
  oneMinusB2: number;
  bias2: number;
  eps: number;
  stepSize: number;
  scale: number;
}

interface Arrays {
  p: Float32Array;
  g: Float32Array;
  m: Float32Array;
  v: Float32Array;
  o: Float32Array;
}

/** Elements `from`.. in JS, one Math.fround per float32 operation. */
function adamwLoop(a: Arrays, k: Scalars32, from: number): void {
  const f = Math.fround;
  const { p, g, m, v, o } = a;
  for (let i = from; i < p.length; i++) {
    const gi = f((g[i] as number) * k.scale);
    const mi = m[i] as number;
    const m1 = f(mi + f(f(gi - mi) * k.oneMinusB1));
    const v1 = f(f((v[i] as number) * k.b2) + f(f(gi * gi) * k.oneMinusB2));
    const denom = f(f(f(Math.sqrt(v1)) / k.bias2) + k.eps);
    m[i] = m1;
    v[i] = v1;
    o[i] = f(f((p[i] as number) * k.decay) - f(f(m1 / denom) * k.stepSize));
  }
}

/** The tensor-op twin (any backend): the same float32 operations, one op each. */
export function adamwOps(slot: AdamWSlot, grad: tf.Tensor, s: AdamWScalars): void {
  const { param: p, expAvg, expAvgSq } = slot;
  tf.tidy(() => {
    const g = s.gradScale === 1 ? grad : tf.mul(grad, s.gradScale);
    const decayed = s.decayFactor === 1 ? p : tf.mul(p, s.decayFactor);
    const m = tf.add(expAvg, tf.mul(tf.sub(g, expAvg), 1 - s.beta1));
    const v = tf.add(tf.mul(expAvgSq, s.beta2), tf.mul(tf.mul(g, g), 1 - s.beta2));
    const denom = tf.add(tf.div(tf.sqrt(v), s.bias2Sqrt), s.eps);
    const updated = tf.sub(decayed, tf.mul(tf.div(m, denom), s.stepSize));
    expAvg.assign(m);
    expAvgSq.assign(v);
    p.assign(updated);
  });
}
