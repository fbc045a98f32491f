import { initBackend, tf } from '../src/index.js';
await initBackend();
const a = tf.randomNormal([256, 32]) as tf.Tensor2D;
const b = tf.randomNormal([32, 128]) as tf.Tensor2D;
const big = tf.randomNormal([1024, 256]) as tf.Tensor2D;
const w = tf.randomNormal([256, 688]) as tf.Tensor2D;
function time(label: string, reps: number, f: () => void) {
  f();
  const c0 = process.cpuUsage(); const t0 = performance.now();
  for (let i = 0; i < reps; i++) f();
  const c = process.cpuUsage(c0);
  console.log(label, ((performance.now() - t0) / reps).toFixed(3), 'ms wall', ((c.user + c.system) / 1000 / reps).toFixed(3), 'ms cpu');
}
time('attn same B', 200, () => tf.matMul(a, b).dispose());
time('attn new B', 200, () => { const bb = tf.add(b, 0); tf.matMul(a, bb).dispose(); bb.dispose(); });
time('add only', 200, () => { const bb = tf.add(b, 0); bb.dispose(); });
time('linear 1024x256x688 same B', 20, () => tf.matMul(big, w).dispose());
