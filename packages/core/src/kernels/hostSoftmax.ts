// Row loops of the log-softmax over logits in host memory, in float64. On the
// wasm backend the exps run in the f64x2 kernels of wasmKernels.ts when the
// row lives in its memory (Math.exp was most of a scoring or training pass);
// elsewhere, and for an odd last element, in JS.
import { inWasmMemory, wasmKernels } from './wasmKernels.js';

/** max of x[o..o+V]; NaNs are skipped (-Infinity when nothing else is there). */
export function rowMax(x: Float32Array, o: number, V: number): number {
  let m = -Infinity;
  let v = 0;
  const k = wasmKernels();
  if (k !== null && inWasmMemory(k, x)) {
    m = k.maxF32(x.byteOffset + 4 * o, V >> 2);
    v = V & ~3;
  }
  for (; v < V; v++) if ((x[o + v] as number) > m) m = x[o + v] as number;
  return m;
}

/** log(sum(exp(x[o..o+V]))) in float64: one max pass, one exp pass. */
export function rowLogSumExp(x: Float32Array, o: number, V: number): number {
  const m = rowMax(x, o, V);
  const k = wasmKernels();
  let s = 0;
  let v = 0;
  if (k !== null && inWasmMemory(k, x)) {
    s = k.sumExp(x.byteOffset + 4 * o, V >> 1, m);
    v = V & ~1;
  }
  for (; v < V; v++) s += Math.exp((x[o + v] as number) - m);
  return m + Math.log(s);
}

/**
 * rowLogSumExp that also leaves exp(x[o+v] - max) in `scratch[v]` (in the wasm
 * backend's memory for the fast path: see scratchRow) and returns their sum, so a caller that needs the probabilities divides instead of
 * calling Math.exp again (the exps are most of a scoring pass's time).
 */
export function rowExps(
  x: Float32Array,
  o: number,
  V: number,
  scratch: Float64Array,
): { lse: number; sum: number } {
  const m = rowMax(x, o, V);
  const k = wasmKernels();
  let s = 0;
  let v = 0;
  if (k !== null && inWasmMemory(k, x) && inWasmMemory(k, scratch)) {
    s = k.expsF64(x.byteOffset + 4 * o, V >> 1, m, scratch.byteOffset);
    v = V & ~1;
  }
  for (; v < V; v++) {
    const e = Math.exp((x[o + v] as number) - m);
    scratch[v] = e;
    s += e;
  }
  return { lse: m + Math.log(s), sum: s };
}

/**
 * Writes d * (onehot(target) - softmax(x[o..o+V])) into out[o..o+V], given
 * the row's logsumexp: the gradient of d * log_softmax(x)[target].
 */
export function writeLogprobGradRow(
  out: Float32Array,
  x: Float32Array,
  o: number,
  V: number,
  lse: number,
  d: number,
  target: number,
): void {
  const k = wasmKernels();
  let v = 0;
  if (k !== null && inWasmMemory(k, x) && inWasmMemory(k, out)) {
    k.gradRow(x.byteOffset + 4 * o, V >> 1, lse, -d, out.byteOffset + 4 * o);
    v = V & ~1;
  }
  for (; v < V; v++) out[o + v] = -d * Math.exp((x[o + v] as number) - lse);
  out[o + target] = (out[o + target] as number) + d;
}

/**
 * A float64 scratch row of V values for rowExps, inside `holder` (a float32
 * tensor of at least 2V + 1 values from allocateHost) when it lives in host
 * memory: there the wasm kernels can write it. Take it again after any tensor
 * allocation (the wasm heap may grow and detach it), like any host view.
 */
export function scratchRow(holder: Float32Array | null, V: number): Float64Array {
  if (holder === null || holder.length < 2 * V + 1) return new Float64Array(V);
  const start = holder.byteOffset + (holder.byteOffset % 8 === 0 ? 0 : 4);
  return new Float64Array(holder.buffer, start, V);
}

/** out[o+v] = float32(exps[v] * inv): a row's probabilities from rowExps' exps and 1 / sum. */
export function writeProbRow(
  out: Float32Array,
  o: number,
  V: number,
  exps: Float64Array,
  inv: number,
): void {
  const k = wasmKernels();
  let v = 0;
  if (k !== null && inWasmMemory(k, out) && inWasmMemory(k, exps)) {
    k.scaleToF32(exps.byteOffset, V >> 1, inv, out.byteOffset + 4 * o);
    v = V & ~1;
  }
  for (; v < V; v++) out[o + v] = (exps[v] as number) * inv;
}

/** x[o..o+V] *= s in float32 (s rounded to float32 first), in place. */
export function scaleRow(x: Float32Array, o: number, V: number, s: number): void {
  const k = wasmKernels();
  const s32 = Math.fround(s);
  let v = 0;
  if (k !== null && inWasmMemory(k, x)) {
    k.scaleF32(x.byteOffset + 4 * o, V >> 2, s32);
    v = V & ~3;
  }
  for (; v < V; v++) x[o + v] = (x[o + v] as number) * s32;
}

/**
 * [sum_v exps[v] * (x[o+v] - a), sum_v exps[v] * (y[o+v] - b)]: with a, b the
 * two rows' logsumexps and exps the first row's, the full KL and the entropy
 * of the row are (first - second) / sum and -first / sum.
 */
export function klRowTerms(
  x: Float32Array,
  y: Float32Array,
  o: number,
  V: number,
  exps: Float64Array,
  a: number,
  b: number,
): [number, number] {
  const k = wasmKernels();
  let sx = 0;
  let sy = 0;
  let v = 0;
  if (k !== null && inWasmMemory(k, x) && inWasmMemory(k, y) && inWasmMemory(k, exps)) {
    [sx, sy] = k.klTerms(x.byteOffset + 4 * o, y.byteOffset + 4 * o, exps.byteOffset, V >> 1, a, b);
    v = V & ~1;
  }
  for (; v < V; v++) {
    const e = exps[v] as number;
    sx += e * ((x[o + v] as number) - a);
    sy += e * ((y[o + v] as number) - b);
  }
  return [sx, sy];
}
