import { tf } from '@remax/core';

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

/** Runs `f` in a tidy and blocks until its result is computed (dataSync of one element). */
export function sync(f: () => tf.Tensor | tf.Tensor[]): void {
  tf.tidy(() => {
    const out = f();
    for (const t of Array.isArray(out) ? out : [out])
      tf.slice(tf.reshape(t, [-1]), [0], [1]).dataSync();
  });
}

export function emit(record: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(record)}\n`);
}
