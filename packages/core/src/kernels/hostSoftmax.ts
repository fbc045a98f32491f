/** log(sum(exp(x[o..o+V]))) in float64: one max pass, one exp pass. */
export function rowLogSumExp(x: Float32Array, o: number, V: number): number {
  let m = -Infinity;
  for (let v = 0; v < V; v++) if ((x[o + v] as number) > m) m = x[o + v] as number;
  let s = 0;
  for (let v = 0; v < V; v++) s += Math.exp((x[o + v] as number) - m);
  return m + Math.log(s);
}

/**
 * rowLogSumExp that also leaves exp(x[o+v] - max) in `scratch[v]` and returns
 * their sum, so a caller that needs the probabilities divides instead of
 * calling Math.exp again (the exps are most of a scoring pass's time).
 */
export function rowExps(
  x: Float32Array,
  o: number,
  V: number,
  scratch: Float64Array,
): { lse: number; sum: number } {
  let m = -Infinity;
  for (let v = 0; v < V; v++) if ((x[o + v] as number) > m) m = x[o + v] as number;
  let s = 0;
  for (let v = 0; v < V; v++) {
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
  for (let v = 0; v < V; v++) out[o + v] = -d * Math.exp((x[o + v] as number) - lse);
  out[o + target] = (out[o + target] as number) + d;
}
