// AdamW over the "small" policy's 19.3M parameters (its tensor shapes), the
// fused host loop against its tensor-op twin, and the whole update phase
// (optimizerStep: gradient norm, clip, AdamW), interleaved in one process so
// the machine's load drifts over all alike. Prints one JSON line.

import { AdamW, initBackend, optimizerStep, tf } from '../src/index.js';
import { type AdamWScalars, adamwHost, adamwOps } from '../src/kernels/adamw.js';

const backend = await initBackend();
const H = 256;
const I = 688;
const V = 32000;
const shapes: number[][] = [[V, H], [V, H], [H]];
for (let l = 0; l < 4; l++)
  shapes.push([H, H], [H / 2, H], [H / 2, H], [H, H], [I, H], [I, H], [H, I], [H], [H]);
const slots = shapes.map((shape) => ({
  param: tf.variable(tf.randomNormal(shape, 0, 0.02, 'float32', 1)),
  expAvg: tf.variable(tf.zeros(shape), false),
  expAvgSq: tf.variable(tf.zeros(shape), false),
  grad: tf.randomNormal(shape, 0, 1e-3, 'float32', 2),
}));
const parameters = slots.reduce((a, s) => a + s.param.size, 0);
let t = 0;
const scalars = (): AdamWScalars => {
  t += 1;
  return {
    decayFactor: 1,
    beta1: 0.9,
    beta2: 0.95,
    stepSize: 5e-7 / (1 - 0.9 ** t),
    bias2Sqrt: Math.sqrt(1 - 0.95 ** t),
    eps: 1e-8,
    gradScale: 0.5,
  };
};
// the update phase as a training step runs it (clipping active: max norm below the norm)
const named = new Map(slots.map((s, i) => [`p${i}`, s.param]));
const grads = new Map(slots.map((s, i) => [`p${i}`, s.grad]));
const optimizer = new AdamW(named, { lr: 5e-7, betas: [0.9, 0.95], weightDecay: 0 });
const runs = {
  host: () => {
    const s = scalars();
    for (const slot of slots) adamwHost(slot, slot.grad, s);
  },
  ops: () => {
    const s = scalars();
    for (const slot of slots) adamwOps(slot, slot.grad, s);
  },
  update: () => {
    optimizerStep(optimizer, grads, { maxGradNorm: 1e-3 });
  },
};
const reps = Number(process.env['BENCH_REPS'] ?? 5);
const best: Record<string, number> = { host: Infinity, ops: Infinity, update: Infinity };
// CPU ms of the whole process (every thread): on a shared machine wall time mostly measures the queue
const cpu: Record<string, number> = { host: Infinity, ops: Infinity, update: Infinity };
for (const run of Object.values(runs)) run(); // warm-up
for (let i = 0; i < reps; i++) {
  for (const [name, run] of Object.entries(runs)) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    run();
    const c = process.cpuUsage(c0);
    best[name] = Math.min(best[name] as number, performance.now() - t0);
    cpu[name] = Math.min(cpu[name] as number, (c.user + c.system) / 1000);
  }
}
console.log(
  JSON.stringify({
    bench: 'adamw.small_policy',
    backend,
    parameters,
    host_ms: +(best['host'] as number).toFixed(1),
    ops_ms: +(best['ops'] as number).toFixed(1),
    ratio: +((best['host'] as number) / (best['ops'] as number)).toFixed(3),
    host_cpu_ms: +(cpu['host'] as number).toFixed(1),
    ops_cpu_ms: +(cpu['ops'] as number).toFixed(1),
    update_ms: +(best['update'] as number).toFixed(1),
    update_cpu_ms: +(cpu['update'] as number).toFixed(1),
    goal_ms: 150,
  }),
);
