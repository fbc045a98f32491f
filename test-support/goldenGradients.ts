// Test support shared by the algorithm packages' fixture tests (no imports, so
// any package's test can use it): compares a loss and its gradients with a float64
// reference's `loss`, `grad_l2_norm` (every parameter, HF names), `grad_total_l2_norm`, `grad_values`.

export interface GoldenGradients {
  loss: number;
  /** The loss is 0 in exact arithmetic: the stored value is rounding noise, compared absolutely. */
  loss_zero_in_exact_arithmetic?: boolean;
  grad_l2_norm: Record<string, number>;
  grad_total_l2_norm: number;
  /** HF layout; matrices as nested rows. */
  grad_values: Record<string, number[] | number[][]>;
}

type Expect = (actual: unknown, message?: string) => { toBeLessThan(n: number): void };

const l2 = (x: ArrayLike<number>) => Math.sqrt(Array.from(x).reduce((s, v) => s + v * v, 0));

/**
 * The loss (1e-5 relative, or |loss| < 1e-6 when it is 0 in exact arithmetic),
 * gradient norms 1e-4 relative, full values 1e-4 relative to the tensor's RMS.
 */
export function expectGolden(
  got: { loss: number; grads: ReadonlyMap<string, { dataSync(): ArrayLike<number> }> },
  want: GoldenGradients,
  expect: Expect,
): void {
  if (want.loss_zero_in_exact_arithmetic) expect(Math.abs(got.loss), 'loss').toBeLessThan(1e-6);
  else expectClose([got.loss], [want.loss], 1e-5, expect, 'loss');
  const { grads } = got;
  expect(grads.size, 'parameters with a gradient').toBeLessThan(
    Object.keys(want.grad_l2_norm).length + 1,
  );
  let total = 0;
  for (const [name, norm] of Object.entries(want.grad_l2_norm)) {
    const g = grads.get(name);
    if (!g) throw new Error(`no gradient for ${name}`);
    const got = l2(g.dataSync());
    total += got * got;
    expect(Math.abs(got - norm) / norm, name).toBeLessThan(1e-4);
  }
  const wantTotal = want.grad_total_l2_norm;
  expect(Math.abs(Math.sqrt(total) - wantTotal) / wantTotal, 'total').toBeLessThan(1e-4);
  for (const [name, nested] of Object.entries(want.grad_values)) {
    const values = nested.flat();
    const got = grads.get(name)?.dataSync() ?? [];
    expect(Math.abs(got.length - values.length), `${name} size`).toBeLessThan(1);
    const scale = l2(values) / Math.sqrt(values.length);
    values.forEach((v, i) => {
      expect(Math.abs((got[i] as number) - v), `${name}[${i}]`).toBeLessThan(1e-4 * scale);
    });
  }
}

/** |got - want| <= rel * |want| + 1e-7, element-wise (1e-7: float32 noise around zeros). */
export function expectClose(
  got: readonly number[],
  want: readonly number[],
  rel: number,
  expect: Expect,
  what = 'value',
): void {
  expect(Math.abs(got.length - want.length), `${what} length`).toBeLessThan(1);
  want.forEach((w, i) => {
    const g = got[i] as number;
    expect(Math.abs(g - w) - rel * Math.abs(w), `${what}[${i}]: ${g} vs ${w}`).toBeLessThan(1e-7);
  });
}

/** The batch every critic-free algo fixture (grpo.json, rloo.json, reinforce-pp.json) shares. */
export interface GroupBatchFixture {
  prompt_len: number;
  num_prompts: number;
  /** G: row i*G + j is sample j of prompt i. */
  num_generations: number;
  input_ids: number[][];
  attention_mask: number[][];
  scores: number[];
  action_mask: number[][];
  logprobs: number[][];
  ref_logprobs: number[][];
}
