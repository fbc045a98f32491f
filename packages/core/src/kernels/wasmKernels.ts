// WebAssembly SIMD kernels that run on the tfjs wasm backend's own memory
// (imported, so tensors are read and written in place, no copies):
// - adamw: the AdamW update in f32x4, the same float32 operations in the same
//   order as its tensor-op twin (kernels/adamw.ts), so the same bits; JS has no
//   float32 arithmetic, and a Math.fround per operation is ~8x slower;
// - maxF32: a row's maximum, four lanes at a time;
// - sumExp / expsF64 / gradRow: exp in float64 (f64x2, a degree-13 polynomial
//   after range reduction, within ~1 ulp of Math.exp) for the log-softmax
//   loops over [rows, 32000] logits, where Math.exp was most of the time.
// Built with wasmAsm.ts at first use; null where WebAssembly SIMD is missing.
import { tf } from '../tf.js';
import {
  F32,
  F64,
  I32,
  moduleBytes,
  op,
  WA,
  type WasmFunction,
  type WasmMemory,
} from './wasmAsm.js';
import {
  EXP_CONSTS,
  EXP_TEMPS,
  expCode,
  expConsts,
  f32x4Fold,
  laneSum,
  loadPair,
  loopHead,
  loopTail,
} from './wasmExp.js';

export interface WasmKernels {
  /** AdamW over `groups` runs of 4 floats at byte addresses p, g, m, v (m, v in place), out. */
  adamw(
    p: number,
    g: number,
    m: number,
    v: number,
    out: number,
    groups: number,
    decay: number,
    oneMinusB1: number,
    b2: number,
    oneMinusB2: number,
    bias2Sqrt: number,
    eps: number,
    stepSize: number,
    gradScale: number,
  ): void;
  /** sum of exp(x[i] - shift) over 2 * pairs float32 values at byte address x. */
  sumExp(x: number, pairs: number, shift: number): number;
  /** The same, also writing each exp as a float64 at byte address out. */
  expsF64(x: number, pairs: number, shift: number, out: number): number;
  /** out[i] = float32(negD * exp(x[i] - lse)) over 2 * pairs values. */
  gradRow(x: number, pairs: number, lse: number, negD: number, out: number): void;
  /** max of 4 * groups float32 values at byte address x (-Infinity if none; NaNs ignored). */
  maxF32(x: number, groups: number): number;
  /** out[i] = float32(e[i] * scale) over 2 * pairs float64 values e (probabilities from exps). */
  scaleToF32(e: number, pairs: number, scale: number, out: number): void;
  /** x[i] = x[i] * s in float32, in place, over 4 * groups values. */
  scaleF32(x: number, groups: number, s: number): void;
  /**
   * [sum e[i] * (x[i] - a), sum e[i] * (y[i] - b)] over 2 * pairs values: x, y
   * float32, e float64 (the full KL and entropy of a row from its exps).
   */
  klTerms(x: number, y: number, e: number, pairs: number, a: number, b: number): [number, number];
  /** The memory the addresses point into. */
  readonly buffer: () => ArrayBufferLike;
}

function adamw(): WasmFunction {
  const [P, G, M, V, OUT, COUNT] = [0, 1, 2, 3, 4, 5];
  const SCALAR0 = 6; // 8 f32 scalars: params 6..13, their splats locals 14..21
  const SPLAT0 = 14;
  const [S_DECAY, S_B1, S_B2, S_B2M, S_BIAS2, S_EPS, S_STEP, S_SCALE] = [
    14, 15, 16, 17, 18, 19, 20, 21,
  ] as const;
  const [L_G, L_M, L_V] = [22, 23, 24];
  const code: number[][] = [];
  for (let k = 0; k < 8; k++) code.push(op.get(SCALAR0 + k), op.f32x4Splat, op.set(SPLAT0 + k));
  code.push(op.block, op.get(COUNT), op.i32Eqz, op.brIf(0), op.loop);
  // g' = g * scale
  code.push(op.get(G), op.load, op.get(S_SCALE), op.f32x4Mul, op.set(L_G));
  // m1 = m + (g' - m) * (1 - b1)
  code.push(op.get(M), op.load, op.set(L_M));
  code.push(op.get(L_M), op.get(L_G), op.get(L_M), op.f32x4Sub, op.get(S_B1), op.f32x4Mul);
  code.push(op.f32x4Add, op.set(L_M), op.get(M), op.get(L_M), op.store);
  // v1 = v * b2 + (g' * g') * (1 - b2)
  code.push(op.get(V), op.load, op.get(S_B2), op.f32x4Mul);
  code.push(op.get(L_G), op.get(L_G), op.f32x4Mul, op.get(S_B2M), op.f32x4Mul, op.f32x4Add);
  code.push(op.set(L_V), op.get(V), op.get(L_V), op.store);
  // out = p * decay - (m1 / (sqrt(v1) / bias2 + eps)) * stepSize
  code.push(op.get(OUT), op.get(P), op.load, op.get(S_DECAY), op.f32x4Mul);
  code.push(op.get(L_M), op.get(L_V), op.f32x4Sqrt, op.get(S_BIAS2), op.f32x4Div);
  code.push(op.get(S_EPS), op.f32x4Add, op.f32x4Div, op.get(S_STEP), op.f32x4Mul);
  code.push(op.f32x4Sub, op.store);
  for (const ptr of [P, G, M, V, OUT])
    code.push(op.get(ptr), op.i32Const(16), op.i32Add, op.set(ptr));
  code.push(op.get(COUNT), op.i32Const(1), op.i32Sub, op.tee(COUNT), op.brIf(0));
  code.push(op.end, op.end);
  return {
    name: 'adamw',
    params: [I32, I32, I32, I32, I32, I32, F32, F32, F32, F32, F32, F32, F32, F32],
    results: [],
    v128Locals: 11,
    code,
  };
}

function sumExp(): WasmFunction {
  const [X, COUNT, SHIFT_ARG, ACC, SHIFT, TMP] = [0, 1, 2, 3, 4, 5];
  const { c, code: consts } = expConsts(TMP + EXP_TEMPS);
  const code: number[][] = [...consts, op.get(SHIFT_ARG), op.f64x2Splat, op.set(SHIFT)];
  code.push(op.f64x2Const(0), op.set(ACC), ...loopHead(COUNT), ...loadPair(X, SHIFT));
  code.push(...expCode(c, TMP), op.get(ACC), op.f64x2Add, op.set(ACC), ...loopTail(COUNT));
  code.push(...laneSum(ACC));
  const v128Locals = 2 + EXP_TEMPS + EXP_CONSTS;
  return { name: 'sumExp', params: [I32, I32, F64], results: [F64], v128Locals, code };
}

function expsF64(): WasmFunction {
  const [X, COUNT, SHIFT_ARG, OUT, ACC, SHIFT, E, TMP] = [0, 1, 2, 3, 4, 5, 6, 7];
  const { c, code: consts } = expConsts(TMP + EXP_TEMPS);
  const code: number[][] = [...consts, op.get(SHIFT_ARG), op.f64x2Splat, op.set(SHIFT)];
  code.push(op.f64x2Const(0), op.set(ACC), ...loopHead(COUNT), ...loadPair(X, SHIFT));
  code.push(...expCode(c, TMP), op.set(E), op.get(OUT), op.get(E), op.store);
  code.push(op.get(OUT), op.i32Const(16), op.i32Add, op.set(OUT));
  code.push(op.get(ACC), op.get(E), op.f64x2Add, op.set(ACC), ...loopTail(COUNT));
  code.push(...laneSum(ACC));
  const v128Locals = 3 + EXP_TEMPS + EXP_CONSTS;
  return { name: 'expsF64', params: [I32, I32, F64, I32], results: [F64], v128Locals, code };
}

function gradRow(): WasmFunction {
  const [X, COUNT, LSE, NEG_D, OUT, SHIFT, ND, TMP] = [0, 1, 2, 3, 4, 5, 6, 7];
  const { c, code: consts } = expConsts(TMP + EXP_TEMPS);
  const code: number[][] = [...consts, op.get(LSE), op.f64x2Splat, op.set(SHIFT)];
  code.push(op.get(NEG_D), op.f64x2Splat, op.set(ND), ...loopHead(COUNT), op.get(OUT));
  code.push(...loadPair(X, SHIFT), ...expCode(c, TMP), op.get(ND), op.f64x2Mul);
  code.push(op.f32x4DemoteF64x2, op.store64Lane0);
  code.push(op.get(OUT), op.i32Const(8), op.i32Add, op.set(OUT), ...loopTail(COUNT));
  const v128Locals = 2 + EXP_TEMPS + EXP_CONSTS;
  return { name: 'gradRow', params: [I32, I32, F64, F64, I32], results: [], v128Locals, code };
}

/** pmax(acc, x) = acc < x ? x : acc: a NaN never wins, as in the JS loop `if (x > m) m = x`. */
const maxF32 = () => f32x4Fold('maxF32', op.f32x4Pmax, op.f32Max, Number.NEGATIVE_INFINITY);

function scaleToF32(): WasmFunction {
  const [E, COUNT, SCALE_ARG, OUT, SCALE] = [0, 1, 2, 3, 4];
  const code: number[][] = [op.get(SCALE_ARG), op.f64x2Splat, op.set(SCALE), ...loopHead(COUNT)];
  code.push(op.get(OUT), op.get(E), op.load, op.get(SCALE), op.f64x2Mul, op.f32x4DemoteF64x2);
  code.push(op.store64Lane0, op.get(E), op.i32Const(16), op.i32Add, op.set(E));
  code.push(op.get(OUT), op.i32Const(8), op.i32Add, op.set(OUT), ...loopTail(COUNT));
  return { name: 'scaleToF32', params: [I32, I32, F64, I32], results: [], v128Locals: 1, code };
}

function scaleF32(): WasmFunction {
  const [X, COUNT, S_ARG, S] = [0, 1, 2, 3];
  const code: number[][] = [op.get(S_ARG), op.f32x4Splat, op.set(S), ...loopHead(COUNT)];
  code.push(op.get(X), op.get(X), op.load, op.get(S), op.f32x4Mul, op.store);
  code.push(op.get(X), op.i32Const(16), op.i32Add, op.set(X), ...loopTail(COUNT));
  return { name: 'scaleF32', params: [I32, I32, F32], results: [], v128Locals: 1, code };
}

function klTerms(): WasmFunction {
  const [X, Y, E, COUNT, A_ARG, B_ARG] = [0, 1, 2, 3, 4, 5];
  const [A, B, ACC_X, ACC_Y, EV] = [6, 7, 8, 9, 10];
  const code: number[][] = [op.get(A_ARG), op.f64x2Splat, op.set(A)];
  code.push(op.get(B_ARG), op.f64x2Splat, op.set(B), op.f64x2Const(0), op.tee(ACC_X));
  code.push(op.set(ACC_Y), ...loopHead(COUNT), op.get(E), op.load, op.set(EV));
  // acc_x += e * (x - a); acc_y += e * (y - b)
  code.push(op.get(ACC_X), op.get(EV), ...loadPair(X, A), op.f64x2Mul, op.f64x2Add, op.set(ACC_X));
  code.push(op.get(ACC_Y), op.get(EV), ...loadPair(Y, B), op.f64x2Mul, op.f64x2Add, op.set(ACC_Y));
  code.push(op.get(E), op.i32Const(16), op.i32Add, op.set(E), ...loopTail(COUNT));
  code.push(...laneSum(ACC_X), ...laneSum(ACC_Y));
  return {
    name: 'klTerms',
    params: [I32, I32, I32, I32, F64, F64],
    results: [F64, F64],
    v128Locals: 5,
    code,
  };
}

/** The module's bytes; `shared` must match the imported memory (threaded builds share it). */
export function kernelModuleBytes(shared: boolean): Uint8Array {
  const fns = [adamw(), sumExp(), expsF64(), gradRow(), maxF32(), scaleToF32(), scaleF32()];
  return moduleBytes([...fns, klTerms()], shared);
}

interface EmscriptenLike {
  wasmMemory?: unknown;
  asm?: { memory?: unknown };
}

const instances = new WeakMap<WasmMemory, WasmKernels | null>();

/**
 * The kernels bound to the running wasm backend's memory, or null when the
 * backend is not wasm, its memory is not reachable, or this engine lacks SIMD.
 */
export function wasmKernels(): WasmKernels | null {
  if (WA === undefined || tf.getBackend() !== 'wasm') return null;
  const module = (tf.backend() as unknown as { wasm?: EmscriptenLike }).wasm;
  const memory = module?.wasmMemory ?? module?.asm?.memory;
  if (!(memory instanceof WA.Memory)) return null;
  let kernels = instances.get(memory);
  if (kernels === undefined) {
    kernels = null;
    const bytes = kernelModuleBytes(memory.buffer instanceof SharedArrayBuffer);
    if (WA.validate(bytes)) {
      const { exports } = new WA.Instance(new WA.Module(bytes), { env: { memory } });
      kernels = {
        ...(exports as unknown as Omit<WasmKernels, 'buffer'>),
        buffer: () => memory.buffer,
      };
    }
    instances.set(memory, kernels);
  }
  return kernels;
}

/** Whether `a` is a view of the kernels' memory (so its byteOffset is an address there). */
export function inWasmMemory(k: WasmKernels, a: ArrayBufferView): boolean {
  return a.buffer === k.buffer();
}
