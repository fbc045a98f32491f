// The pieces the float64 exp kernels share (wasmKernels.ts, samplingKernels.ts):
// exp on f64x2 (range reduction by ln 2, a degree-13 polynomial, scaling by
// 2^k through the exponent bits; within ~1 ulp of Math.exp) and the counted
// loop / pair-load / lane-sum idioms around it, and the f32x4 row folds.
import { F32, I32, op, type WasmFunction } from './wasmAsm.js';

const LN2_HI = 0.6931471803691238; // fdlibm: k * LN2_HI is exact for |k| < 2^11
const LN2_LO = 1.9082149292705877e-10;

/** exp's constants, splatted once into v128 locals before a loop (not re-materialised per use). */
export interface ExpConsts {
  min: number;
  log2e: number;
  ln2Hi: number;
  ln2Lo: number;
  /** (1023 << 52) as i64x2: the exponent bias in place */
  bias: number;
  /** 1.5 * 2^52: adding it rounds to an integer, left in the low mantissa bits */
  shifter: number;
  /** 1 / j! for j = 0..13 */
  inv: number[];
}

/** Declares exp's constants as the EXP_CONSTS v128 locals from `first`, and the code that sets them. */
export function expConsts(first: number): { c: ExpConsts; code: number[][] } {
  const inv = [1];
  for (let j = 1; j <= 13; j++) inv.push((inv[j - 1] as number) / j);
  const c: ExpConsts = {
    min: first,
    log2e: first + 1,
    ln2Hi: first + 2,
    ln2Lo: first + 3,
    bias: first + 4,
    shifter: first + 5,
    inv: inv.map((_, j) => first + 6 + j),
  };
  const code: number[][] = [
    op.f64x2Const(-708),
    op.set(c.min),
    op.f64x2Const(Math.LOG2E),
    op.set(c.log2e),
    op.f64x2Const(LN2_HI),
    op.set(c.ln2Hi),
    op.f64x2Const(LN2_LO),
    op.set(c.ln2Lo),
    op.i64x2Const(1023 * 2 ** 52),
    op.set(c.bias),
    op.f64x2Const(1.5 * 2 ** 52),
    op.set(c.shifter),
  ];
  inv.forEach((v, j) => {
    code.push(op.f64x2Const(v), op.set(c.inv[j] as number));
  });
  return { c, code };
}
export const EXP_CONSTS = 20;

/** v128 locals expCode needs, from `first`: T, K, R, R2, R4, R8, Y. */
export const EXP_TEMPS = 7;

/**
 * f64x2 t on the stack -> exp(t), using the EXP_TEMPS v128 locals from `tmp`.
 * Inputs below -708 give exp(-708) ~ 3e-308 (the scale stays a normal power
 * of two); callers pass x - max or x - logsumexp, which are <= 0.
 */
export function expCode(c: ExpConsts, tmp: number): number[][] {
  const [T, K, R, R2, R4, R8, Y] = [tmp, tmp + 1, tmp + 2, tmp + 3, tmp + 4, tmp + 5, tmp + 6];
  const a = (j: number) => op.get(c.inv[j] as number);
  // t = max(t, -708) as pmax(t, min) = t < min ? min : t: one instruction where
  // f64x2.max is a NaN-handling sequence, and a NaN t still comes through
  const code: number[][] = [op.get(c.min), op.f64x2Pmax, op.set(T)];
  // k = round(t / ln 2) (ties to even) by the shifter: y = t log2e + 1.5 2^52
  // holds k in its low mantissa bits, y - 1.5 2^52 = k exactly; r = t - k ln 2
  // in [-ln2/2, ln2/2]. (Cheaper than f64x2.nearest + the float -> int conversion.)
  code.push(op.get(T), op.get(c.log2e), op.f64x2Mul, op.get(c.shifter), op.f64x2Add, op.tee(Y));
  code.push(op.get(c.shifter), op.f64x2Sub, op.set(K));
  code.push(op.get(T), op.get(K), op.get(c.ln2Hi), op.f64x2Mul, op.f64x2Sub);
  code.push(op.get(K), op.get(c.ln2Lo), op.f64x2Mul, op.f64x2Sub, op.tee(R));
  code.push(op.get(R), op.f64x2Mul, op.tee(R2), op.get(R2), op.f64x2Mul, op.tee(R4));
  code.push(op.get(R4), op.f64x2Mul, op.set(R8));
  // exp(r) = sum r^j / j!, j <= 13 (remainder < 4e-18 relative), by Estrin's
  // scheme: pairs (a_2i + a_2i+1 r), then powers r^2, r^4, r^8. Its dependency
  // chain is 5 multiply-adds long where Horner's is 13, and the loop is
  // latency-bound.
  const pair = (i: number) => [a(2 * i), op.get(R), a(2 * i + 1), op.f64x2Mul, op.f64x2Add];
  const madd = (P: number) => [op.get(P), op.f64x2Mul, op.f64x2Add];
  code.push(...pair(0), ...pair(1), ...madd(R2), ...pair(2), ...pair(3), ...madd(R2));
  code.push(...madd(R4), ...pair(4), ...pair(5), ...madd(R2), ...pair(6), ...madd(R4));
  code.push(...madd(R8));
  // times 2^k: (k + 1023) << 52 are the bits of 2^k; y's bits << 52 are k << 52 (mod 2^64)
  code.push(op.get(Y), op.i32Const(52), op.i64x2Shl, op.get(c.bias), op.i64x2Add, op.f64x2Mul);
  return code;
}

/** Pushes f64x2 (x[0..2] promoted) - shift and advances x by 8 bytes. */
export function loadPair(X: number, SHIFT: number): number[][] {
  return [
    op.get(X),
    op.load64Splat,
    op.f64x2PromoteF32x4,
    op.get(SHIFT),
    op.f64x2Sub,
    op.get(X),
    op.i32Const(8),
    op.i32Add,
    op.set(X),
  ];
}

export const loopHead = (COUNT: number) => [
  op.block,
  op.get(COUNT),
  op.i32Eqz,
  op.brIf(0),
  op.loop,
];
export const loopTail = (COUNT: number) => [
  op.get(COUNT),
  op.i32Const(1),
  op.i32Sub,
  op.tee(COUNT),
  op.brIf(0),
  op.end,
  op.end,
];
export const laneSum = (ACC: number) => [
  op.get(ACC),
  op.f64x2Lane(0),
  op.get(ACC),
  op.f64x2Lane(1),
  op.f64Add,
];

/**
 * A reduction of 4 * groups float32 values at X (the function's first param;
 * the second is the group count): acc = fold(acc, x) four lanes at a time
 * from `init`, then the four lanes by `combine`.
 */
export function f32x4Fold(
  name: string,
  fold: number[],
  combine: number[],
  init: number,
): WasmFunction {
  const [X, COUNT, ACC] = [0, 1, 2];
  const code: number[][] = [op.f32x4Const(init), op.set(ACC)];
  code.push(...loopHead(COUNT), op.get(ACC), op.get(X), op.load, fold, op.set(ACC));
  code.push(op.get(X), op.i32Const(16), op.i32Add, op.set(X), ...loopTail(COUNT));
  code.push(op.get(ACC), op.f32x4Lane(0), op.get(ACC), op.f32x4Lane(1), combine);
  code.push(op.get(ACC), op.f32x4Lane(2), combine, op.get(ACC), op.f32x4Lane(3), combine);
  return { name, params: [I32, I32], results: [F32], v128Locals: 1, code };
}
