import { hostView, tf } from '@remax/core';

/** Best wall time (ms) of `reps` runs after one warm-up; `run` must dispose what it makes. */
export async function bestMs(run: () => void | Promise<void>, reps = 3): Promise<number> {
  await run();
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await run();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

/**
 * Best wall time (ms) of each run, the runs interleaved `reps` times after one
 * warm-up each: on a shared machine the load drifts, and a ratio of two bests
 * taken minutes apart measures the drift as much as the code.
 */
export async function bestMsInterleaved(
  runs: Array<() => void | Promise<void>>,
  reps = 4,
): Promise<number[]> {
  for (const run of runs) await run();
  const best = runs.map(() => Infinity);
  for (let i = 0; i < reps; i++) {
    for (const [j, run] of runs.entries()) {
      const t0 = performance.now();
      await run();
      best[j] = Math.min(best[j] as number, performance.now() - t0);
    }
  }
  return best;
}

/** Runs `f` in a tidy and blocks until its result is computed. */
export function sync(f: () => tf.Tensor | tf.Tensor[]): void {
  tf.tidy(() => {
    const out = f();
    for (const t of Array.isArray(out) ? out : [out]) settle(t);
  });
}

/**
 * Blocks until `t` is computed. Host-memory backends (wasm, cpu) compute
 * synchronously, so its storage is ready; reading it back would cost more than
 * the work measured (wasm's dataSync and tf.slice copy the whole tensor: 131
 * MB for [8, 128, 32000] logits). Other backends read one element.
 */
export function settle(t: tf.Tensor): void {
  if (hostView(t) !== null) return;
  tf.tidy(() => {
    tf.slice(tf.reshape(t, [-1]), [0], [1]).dataSync();
  });
}

export function emit(record: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(record)}\n`);
}
