// The O(V) passes of the token sampler (rollout's sampling.ts) over one row of
// candidate logits, twice: WebAssembly kernels on the sampler's own memory
// (SIMD max / min / float64 exp with the top-p buckets in the same pass, the
// kept total, the cut bucket's members, the seeded walk) and their plain-JS
// twin, used where WebAssembly SIMD is missing and as the reference in the
// agreement test. The sampler writes a row into `logits`, then reads
// `weights`, `buckets` and `mass` back.
//
// Why: in a rollout of 32000-token rows these passes were most of the time
// spent outside the model (the JS exps pass ~26 ns per token, the kernel's ~4
// ns, measured on this 2-core machine), so the sampler's own memory is a
// WebAssembly memory that the kernels read and write in place, on any tfjs
// backend.

import { F32, F64, I32, moduleBytes, op, WA, type WasmFunction } from './wasmAsm.js';
import {
  EXP_CONSTS,
  EXP_TEMPS,
  type ExpConsts,
  expCode,
  expConsts,
  f32x4Fold,
  laneSum,
  loadPair,
  loopHead,
  loopTail,
} from './wasmExp.js';

/** Below this scaled logit a weight is 0 (e^-708 ~ 3e-308: the kernel's exp range; both twins agree). */
export const MIN_EXP_ARG = -708;

/** The sampler's row passes; every array is a view of the kernels' memory, valid for the object's life. */
export interface SamplingKernels {
  /** Capacity: rows of at most this many candidates. */
  readonly size: number;
  /** The candidate logits (the caller writes them). */
  readonly logits: Float32Array;
  /** Written by `exps` and `nucleusExps`: exp((logit - max) / temperature), 0 below e^-708 and for -Infinity. */
  readonly weights: Float64Array;
  /** Written by `nucleusExps`: the top-p bucket of each candidate, `noBucket` where the weight is 0. */
  readonly buckets: Int32Array;
  /** Written by `nucleusExps`: the exact integer mass of each bucket. */
  readonly mass: Float64Array;
  /** The value in `buckets` of a candidate outside every bucket (= mass.length). */
  readonly noBucket: number;
  /** Largest of logits[0..n); NaN when any of them is NaN (-Infinity when n = 0). */
  max(n: number): number;
  /** Smallest of logits[0..n) above -Infinity; NaNs skipped (+Infinity when none). */
  minAbove(n: number): number;
  /** Fills weights[0..n) and returns their sum (NaN when a logit is NaN). */
  exps(n: number, max: number, temperature: number): number;
  /**
   * `exps`, and in the same pass the top-p buckets: buckets[j] =
   * min(trunc((max - logit) * perNat), last) (`noBucket` where the weight is
   * 0) and `mass` = the per-bucket sums of massUnits(weight, massScale).
   * Returns the total of those units (exact: integers below 2^53).
   */
  nucleusExps(
    n: number,
    max: number,
    temperature: number,
    perNat: number,
    massScale: number,
  ): number;
  /**
   * Sum of weights[j] over the kept candidates j < n (buckets[j] <= cut), in
   * two lanes (even j and odd j, each ascending; then their sum and an odd
   * last one): the order of the f64x2 kernel, which the JS twin follows.
   */
  keptTotal(n: number, cut: number): number;
  /** The candidates j < n in bucket `cut`, ascending (a view, valid until the next call). */
  inBucket(n: number, cut: number): Int32Array;
  /**
   * The first kept candidate (ascending j) whose cumulative weight exceeds
   * `target`, else the last kept one; -1 when none is kept.
   */
  keptWalk(n: number, cut: number, target: number): number;
}

/** A weight as an integer number of units of 1 / massScale (round half up; the same bits in both twins). */
export function massUnits(weight: number, massScale: number): number {
  return Math.floor(weight * massScale + 0.5);
}

/** The plain-JS twin. */
export function jsSamplingKernels(size: number, bucketCount: number): SamplingKernels {
  const logits = new Float32Array(size);
  const weights = new Float64Array(size);
  const buckets = new Int32Array(size);
  const slots = new Float64Array(bucketCount + 1); // the last one collects the zero weights' 0s
  const mass = slots.subarray(0, bucketCount);
  const members = new Int32Array(size);
  return {
    size,
    logits,
    weights,
    buckets,
    mass,
    noBucket: bucketCount,
    max: (n) => maxTail(logits, 0, n, Number.NEGATIVE_INFINITY),
    minAbove: (n) => minAboveTail(logits, 0, n, Number.POSITIVE_INFINITY),
    exps: (n, max, t) => expsTail(logits, weights, 0, n, max, t, 0),
    keptTotal(n, cut) {
      let even = 0;
      let odd = 0;
      let j = 0;
      for (; j + 1 < n; j += 2) {
        if ((buckets[j] as number) <= cut) even += weights[j] as number;
        if ((buckets[j + 1] as number) <= cut) odd += weights[j + 1] as number;
      }
      return keptTail(weights, buckets, j, n, cut, even + odd);
    },
    inBucket(n, cut) {
      let m = 0;
      for (let j = 0; j < n; j++) if (buckets[j] === cut) members[m++] = j;
      return members.subarray(0, m);
    },
    keptWalk(n, cut, target) {
      let cumulative = 0;
      let chosen = -1;
      for (let j = 0; j < n; j++) {
        if ((buckets[j] as number) > cut) continue;
        cumulative += weights[j] as number;
        chosen = j;
        if (target < cumulative) break;
      }
      return chosen;
    },
    nucleusExps(n, max, t, perNat, massScale) {
      expsTail(logits, weights, 0, n, max, t, 0);
      slots.fill(0);
      bucketTail(logits, weights, buckets, slots, 0, n, max, perNat, massScale);
      return sumOf(mass);
    },
  };
}

/** The bucket pass of nucleusExps over candidates [from, n), in JS. */
function bucketTail(
  logits: Float32Array,
  weights: Float64Array,
  buckets: Int32Array,
  slots: Float64Array,
  from: number,
  n: number,
  max: number,
  perNat: number,
  massScale: number,
): void {
  const none = slots.length - 1;
  const last = none - 1;
  for (let j = from; j < n; j++) {
    const w = weights[j] as number;
    const b = w === 0 ? none : Math.min(Math.trunc((max - (logits[j] as number)) * perNat), last);
    buckets[j] = b;
    slots[b] = (slots[b] as number) + massUnits(w, massScale);
  }
}

/** keptTotal's odd last candidate, added after the two lanes. */
function keptTail(
  w: Float64Array,
  b: Int32Array,
  from: number,
  n: number,
  cut: number,
  total: number,
): number {
  for (let j = from; j < n; j++) if ((b[j] as number) <= cut) total += w[j] as number;
  return total;
}

function sumOf(a: Float64Array): number {
  let s = 0;
  for (const v of a) s += v;
  return s;
}

function maxTail(x: Float32Array, from: number, n: number, m: number): number {
  for (let i = from; i < n; i++) m = Math.max(m, x[i] as number);
  return m;
}

/** The row maximum; f32x4.max (unlike pmax) gives NaN when either input is NaN. */
const maxOrNaN = () => f32x4Fold('maxOrNaN', op.f32x4Max, op.f32Max, Number.NEGATIVE_INFINITY);

function minAboveTail(x: Float32Array, from: number, n: number, m: number): number {
  for (let i = from; i < n; i++) {
    const l = x[i] as number;
    if (l > Number.NEGATIVE_INFINITY && l < m) m = l;
  }
  return m;
}

function expsTail(
  x: Float32Array,
  out: Float64Array,
  from: number,
  n: number,
  max: number,
  t: number,
  sum: number,
): number {
  for (let i = from; i < n; i++) {
    const s = ((x[i] as number) - max) / t;
    const w = s < MIN_EXP_ARG ? 0 : Math.exp(s);
    out[i] = w;
    sum += w;
  }
  return sum;
}

function minAboveF32(): WasmFunction {
  const [X, COUNT, ACC, V, LOW, HIGH] = [0, 1, 2, 3, 4, 5];
  const code: number[][] = [op.f32x4Const(Number.POSITIVE_INFINITY), op.tee(HIGH), op.set(ACC)];
  code.push(op.f32x4Const(Number.NEGATIVE_INFINITY), op.set(LOW), ...loopHead(COUNT));
  // v > -Infinity (false for NaN) ? v : +Infinity, then pmin into the accumulator
  code.push(op.get(X), op.load, op.tee(V), op.get(HIGH), op.get(V), op.get(LOW), op.f32x4Gt);
  code.push(op.v128Bitselect, op.set(V), op.get(ACC), op.get(V), op.f32x4Pmin, op.set(ACC));
  code.push(op.get(X), op.i32Const(16), op.i32Add, op.set(X), ...loopTail(COUNT));
  code.push(op.get(ACC), op.f32x4Lane(0), op.get(ACC), op.f32x4Lane(1), op.f32Min);
  code.push(op.get(ACC), op.f32x4Lane(2), op.f32Min, op.get(ACC), op.f32x4Lane(3), op.f32Min);
  return { name: 'minAboveF32', params: [I32, I32], results: [F32], v128Locals: 4, code };
}

/** Locals of the weight pass that scaledExps and nucleusExps share (D, Z: optional tees). */
interface WeightLocals {
  X: number;
  OUT: number;
  SHIFT_ARG: number;
  DIV_ARG: number;
  ACC: number;
  SHIFT: number;
  DIV: number;
  S: number;
  E: number;
  TMP: number;
  /** keeps d = x - max */
  D?: number;
  /** keeps the s < -708 mask */
  Z?: number;
}

/** exp's constants and the splats of max and T, before the loop. */
function weightSetup(l: WeightLocals, consts: number[][]): number[][] {
  const code: number[][] = [...consts, op.get(l.SHIFT_ARG), op.f64x2Splat, op.set(l.SHIFT)];
  code.push(op.get(l.DIV_ARG), op.f64x2Splat, op.set(l.DIV), op.f64x2Const(0), op.set(l.ACC));
  return code;
}

/**
 * One pair: d = x - max, s = d / T, w = exp(s), then 0 where s < -708 (the
 * clamp inside expCode would give e^-708 there); w stored at OUT and summed.
 */
function weightPair(l: WeightLocals, c: ExpConsts): number[][] {
  const tee = (local: number | undefined) => (local === undefined ? [] : [op.tee(local)]);
  const code: number[][] = [...loadPair(l.X, l.SHIFT), ...tee(l.D), op.get(l.DIV), op.f64x2Div];
  code.push(op.tee(l.S), ...expCode(c, l.TMP), op.get(l.S), op.get(c.min), op.f64x2Lt);
  code.push(...tee(l.Z), op.v128AndNot, op.set(l.E), op.get(l.OUT), op.get(l.E), op.store);
  code.push(op.get(l.OUT), op.i32Const(16), op.i32Add, op.set(l.OUT));
  code.push(op.get(l.ACC), op.get(l.E), op.f64x2Add, op.set(l.ACC));
  return code;
}

function scaledExps(): WasmFunction {
  const l = { X: 0, SHIFT_ARG: 2, DIV_ARG: 3, OUT: 4, ACC: 5, SHIFT: 6, DIV: 7, S: 8, E: 9 };
  const COUNT = 1;
  const TMP = 10;
  const { c, code: consts } = expConsts(TMP + EXP_TEMPS);
  const locals = { ...l, TMP };
  const code = [...weightSetup(locals, consts), ...loopHead(COUNT), ...weightPair(locals, c)];
  code.push(...loopTail(COUNT), ...laneSum(l.ACC));
  return {
    name: 'scaledExps',
    params: [I32, I32, F64, F64, I32],
    results: [F64],
    v128Locals: 5 + EXP_TEMPS + EXP_CONSTS,
    code,
  };
}

/**
 * scaledExps plus the top-p buckets in the same pass (no second read of the
 * row): per pair, b = min(trunc_sat((l - max) * -perNat), last), noBucket
 * where the weight is 0 (the s < -708 mask, 32-bit lanes by a shuffle), and
 * mass[b] += floor(w * massScale + 1/2) lane by lane. The zero weights add 0
 * to the extra slot noBucket.
 */
function nucleusExps(): WasmFunction {
  const [COUNT, NEG_PER_NAT, MS, LAST, NONE, B_OUT, MASS, ADDR] = [1, 5, 6, 7, 8, 9, 10, 11];
  const [D, NPN, MSV, LASTV, NONEV, HALF, BV, Q, Z, TMP] = [17, 18, 19, 20, 21, 22, 23, 24, 25, 26];
  const l = { X: 0, SHIFT_ARG: 2, DIV_ARG: 3, OUT: 4, ACC: 12, SHIFT: 13, DIV: 14, S: 15, E: 16 };
  const locals = { ...l, TMP, D, Z };
  const { c, code: consts } = expConsts(TMP + EXP_TEMPS);
  const code = weightSetup(locals, consts);
  code.push(op.get(NEG_PER_NAT), op.f64x2Splat, op.set(NPN), op.get(MS), op.f64x2Splat);
  code.push(op.set(MSV), op.get(LAST), op.i32x4Splat, op.set(LASTV), op.get(NONE));
  code.push(op.i32x4Splat, op.set(NONEV), op.f64x2Const(0.5), op.set(HALF), ...loopHead(COUNT));
  code.push(...weightPair(locals, c));
  // buckets of the two lanes, stored as two int32
  code.push(op.get(B_OUT), op.get(NONEV), op.get(D), op.get(NPN), op.f64x2Mul);
  code.push(op.i32x4TruncSatF64x2Zero, op.get(LASTV), op.i32x4MinS, op.get(Z), op.get(Z));
  code.push(op.i8x16Shuffle([0, 1, 2, 3, 8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11]));
  code.push(op.v128Bitselect, op.tee(BV), op.store64Lane0);
  code.push(op.get(B_OUT), op.i32Const(8), op.i32Add, op.set(B_OUT));
  // q = floor(w * massScale + 1/2); mass[b] += q per lane
  code.push(op.get(l.E), op.get(MSV), op.f64x2Mul, op.get(HALF), op.f64x2Add, op.f64x2Floor);
  code.push(op.set(Q));
  for (const lane of [0, 1]) {
    code.push(op.get(MASS), op.get(BV), op.i32x4Lane(lane), op.i32Const(3), op.i32Shl);
    code.push(op.i32Add, op.tee(ADDR), op.get(ADDR), op.f64Load, op.get(Q));
    code.push(op.f64x2Lane(lane), op.f64Add, op.f64Store);
  }
  code.push(...loopTail(COUNT), ...laneSum(l.ACC));
  return {
    name: 'nucleusExps',
    params: [I32, I32, F64, F64, I32, F64, F64, I32, I32, I32, I32],
    results: [F64],
    locals: [I32],
    v128Locals: 15 + EXP_TEMPS + EXP_CONSTS,
    code,
  };
}

/**
 * Two candidates per step: their buckets (an int32 pair, splatted) <= cut
 * gives a lane mask, widened to 64 bits, that keeps or zeroes each weight.
 * Branch-free (a JS loop mispredicts the kept test on ~10% of tokens).
 */
function keptTotal(): WasmFunction {
  const [W, B, COUNT, CUT, ACC, CUTV] = [0, 1, 2, 3, 4, 5];
  const code: number[][] = [op.f64x2Const(0), op.set(ACC), op.get(CUT), op.i32x4Splat];
  code.push(op.set(CUTV), ...loopHead(COUNT), op.get(ACC), op.get(W), op.load, op.get(B));
  code.push(op.load64Splat, op.get(CUTV), op.i32x4LeS, op.i64x2ExtendLowI32x4, op.v128And);
  code.push(op.f64x2Add, op.set(ACC), op.get(W), op.i32Const(16), op.i32Add, op.set(W));
  code.push(op.get(B), op.i32Const(8), op.i32Add, op.set(B), ...loopTail(COUNT));
  code.push(...laneSum(ACC));
  return {
    name: 'keptTotal',
    params: [I32, I32, I32, I32],
    results: [F64],
    v128Locals: 2,
    code,
  };
}

/**
 * The candidates in bucket `cut`, written as int32 indices at `out`; four
 * buckets per step, skipped unless one of them matches (the cut bucket holds
 * few of the row's tokens). Returns how many.
 */
function inBucket(): WasmFunction {
  const [B, COUNT, CUT, OUT, M, J, V, CUTV] = [0, 1, 2, 3, 4, 5, 6, 7];
  const code: number[][] = [op.i32Const(0), op.set(M), op.i32Const(0), op.set(J)];
  code.push(op.get(CUT), op.i32x4Splat, op.set(CUTV), ...loopHead(COUNT), op.get(B), op.load);
  code.push(op.tee(V), op.get(CUTV), op.i32x4Eq, op.v128AnyTrue, op.ifVoid);
  for (let lane = 0; lane < 4; lane++) {
    code.push(op.get(V), op.i32x4Lane(lane), op.get(CUT), op.i32Eq, op.ifVoid);
    code.push(op.get(OUT), op.get(M), op.i32Const(2), op.i32Shl, op.i32Add, op.get(J));
    code.push(op.i32Const(lane), op.i32Add, op.i32Store4, op.get(M), op.i32Const(1));
    code.push(op.i32Add, op.set(M), op.end);
  }
  code.push(op.end, op.get(J), op.i32Const(4), op.i32Add, op.set(J));
  code.push(op.get(B), op.i32Const(16), op.i32Add, op.set(B), ...loopTail(COUNT), op.get(M));
  return {
    name: 'inBucket',
    params: [I32, I32, I32, I32],
    results: [I32],
    locals: [I32, I32],
    v128Locals: 2,
    code,
  };
}

function keptWalk(): WasmFunction {
  const [W, B, COUNT, CUT, TARGET, SUM, CHOSEN, J, KEPT] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const code: number[][] = [op.f64Const(0), op.set(SUM), op.i32Const(-1), op.set(CHOSEN)];
  code.push(op.i32Const(0), op.set(J), ...loopHead(COUNT));
  // kept = b[j] <= cut; sum += kept ? w[j] : 0; chosen = kept ? j : chosen
  code.push(op.get(B), op.i32Load, op.get(CUT), op.i32LeS, op.set(KEPT));
  code.push(op.get(SUM), op.get(W), op.f64Load, op.f64Const(0), op.get(KEPT), op.select);
  code.push(op.f64Add, op.set(SUM), op.get(J), op.get(CHOSEN), op.get(KEPT), op.select);
  code.push(op.set(CHOSEN), op.get(W), op.i32Const(8), op.i32Add, op.set(W));
  code.push(op.get(B), op.i32Const(4), op.i32Add, op.set(B));
  code.push(op.get(J), op.i32Const(1), op.i32Add, op.set(J));
  // sum only grows on kept tokens, so the first target < sum is at a kept one: stop there
  code.push(op.get(TARGET), op.get(SUM), op.f64Lt, op.brIf(1));
  code.push(...loopTail(COUNT), op.get(CHOSEN));
  return {
    name: 'keptWalk',
    params: [I32, I32, I32, I32, F64],
    results: [I32],
    locals: [F64, I32, I32, I32],
    v128Locals: 0,
    code,
  };
}

interface SamplingExports {
  maxOrNaN(x: number, groups: number): number;
  minAboveF32(x: number, groups: number): number;
  scaledExps(x: number, pairs: number, shift: number, div: number, out: number): number;
  nucleusExps(
    x: number,
    pairs: number,
    shift: number,
    div: number,
    out: number,
    negPerNat: number,
    massScale: number,
    last: number,
    none: number,
    buckets: number,
    mass: number,
  ): number;
  keptTotal(w: number, buckets: number, pairs: number, cut: number): number;
  inBucket(buckets: number, groups: number, cut: number, out: number): number;
  keptWalk(w: number, buckets: number, count: number, cut: number, target: number): number;
}

let compiled: object | null | undefined;

function samplingModule(): object | null {
  if (compiled === undefined) {
    const bytes = moduleBytes(
      [maxOrNaN(), minAboveF32(), scaledExps(), nucleusExps(), keptTotal(), keptWalk(), inBucket()],
      false,
    );
    compiled = WA?.validate(bytes) ? new WA.Module(bytes) : null;
  }
  return compiled;
}

const align16 = (bytes: number) => Math.ceil(bytes / 16) * 16;

/** The WebAssembly kernels on a memory of their own, or null where WebAssembly SIMD is missing. */
export function wasmSamplingKernels(size: number, bucketCount: number): SamplingKernels | null {
  const module = samplingModule();
  if (module === null || WA === undefined) return null;
  const at = { logits: 0, weights: align16(4 * size), buckets: 0, members: 0, mass: 0, end: 0 };
  at.buckets = at.weights + align16(8 * size);
  at.members = at.buckets + align16(4 * size);
  at.mass = at.members + align16(4 * size);
  at.end = at.mass + 8 * (bucketCount + 1); // + the zero weights' slot
  const memory = new WA.Memory({ initial: Math.max(1, Math.ceil(at.end / 65536)) });
  const k = new WA.Instance(module, { env: { memory } }).exports as unknown as SamplingExports;
  const buffer = memory.buffer as ArrayBuffer;
  const logits = new Float32Array(buffer, at.logits, size);
  const weights = new Float64Array(buffer, at.weights, size);
  const buckets = new Int32Array(buffer, at.buckets, size);
  const members = new Int32Array(buffer, at.members, size);
  const slots = new Float64Array(buffer, at.mass, bucketCount + 1);
  const mass = slots.subarray(0, bucketCount);
  return {
    size,
    logits,
    weights,
    buckets,
    mass,
    noBucket: bucketCount,
    max: (n) => maxTail(logits, n & ~3, n, k.maxOrNaN(at.logits, n >> 2)),
    minAbove: (n) => minAboveTail(logits, n & ~3, n, k.minAboveF32(at.logits, n >> 2)),
    exps(n, max, t) {
      const sum = k.scaledExps(at.logits, n >> 1, max, t, at.weights);
      return expsTail(logits, weights, n & ~1, n, max, t, sum);
    },
    keptTotal(n, cut) {
      const pairs = n >> 1;
      const total = k.keptTotal(at.weights, at.buckets, pairs, cut);
      return keptTail(weights, buckets, 2 * pairs, n, cut, total);
    },
    inBucket(n, cut) {
      const groups = n >> 2;
      let m = k.inBucket(at.buckets, groups, cut, at.members);
      for (let j = 4 * groups; j < n; j++) if (buckets[j] === cut) members[m++] = j;
      return members.subarray(0, m);
    },
    keptWalk: (n, cut, target) => k.keptWalk(at.weights, at.buckets, n, cut, target),
    nucleusExps(n, max, t, perNat, massScale) {
      slots.fill(0);
      const last = bucketCount - 1;
      const { logits: x, weights: w, buckets: b, mass: m } = at;
      const pairs = n >> 1;
      k.nucleusExps(x, pairs, max, t, w, -perNat, massScale, last, bucketCount, b, m);
      expsTail(logits, weights, 2 * pairs, n, max, t, 0);
      bucketTail(logits, weights, buckets, slots, 2 * pairs, n, max, perNat, massScale);
      return sumOf(mass);
    },
  };
}

/** The kernels where WebAssembly SIMD runs, else the JS twin. */
export function samplingKernels(size: number, bucketCount: number): SamplingKernels {
  return wasmSamplingKernels(size, bucketCount) ?? jsSamplingKernels(size, bucketCount);
}
