// One process, one thread count (REMAX_WASM_THREADS): prints one JSON line per shape.
import { backendInfo, initBackend, tf } from '../src/index.js';

await initBackend('wasm');
const threads = backendInfo().wasmThreads;
const reps = Number(process.env['BENCH_REPS'] ?? 5);

/** Best wall time, and the CPU time over wall time of all reps (how many cores we really got). */
function measure(f: () => void): { ms: number; cpuPerWall: number } {
  f(); // warm-up (XNNPACK packs the weights once per tensor)
  let best = Number.POSITIVE_INFINITY;
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    f();
    best = Math.min(best, performance.now() - t);
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuPerWall = (cpu.user + cpu.system) / 1000 / (performance.now() - wall0);
  return { ms: best, cpuPerWall };
}

const cases: { name: string; m: number; k: number; n: number; transposeB: boolean }[] = [
  { name: 'matmul_1024', m: 1024, k: 1024, n: 1024, transposeB: false },
  { name: 'matmul_lm_head_8x256x32000', m: 8, k: 256, n: 32000, transposeB: false },
  { name: 'matmul_1024_transposeB', m: 1024, k: 1024, n: 1024, transposeB: true },
];
for (const c of cases) {
  const a = tf.randomNormal([c.m, c.k], 0, 1, 'float32', 1);
  const b = tf.randomNormal(c.transposeB ? [c.n, c.k] : [c.k, c.n], 0, 1, 'float32', 2);
  const { ms, cpuPerWall } = measure(() => tf.matMul(a, b, false, c.transposeB).dataSync());
  const gflops = (2 * c.m * c.k * c.n) / (ms * 1e6);
  const line = { bench: c.name, threads, ms: +ms.toFixed(2), gflops: +gflops.toFixed(2) };
  console.log(JSON.stringify({ ...line, cpuPerWall: +cpuPerWall.toFixed(2) }));
  tf.dispose([a, b]);
}
