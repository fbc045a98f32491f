// Run in a child process by backend.test.ts: backend start-up is once per process.
import { createHash } from 'node:crypto';
import { backendInfo, initBackend, tf } from '../../src/index.js';
import { tf as tfDirect } from '../../src/tf.js';

const mode = process.argv[2];

if (mode === 'banner-control') {
  // Without initBackend tfjs prints its banner: proves the check above can fail.
  await tfDirect.setBackend('cpu');
  tfDirect.ones([2]).dataSync();
} else if (mode === 'threads') {
  // First the cpu backend (its banner must stay silent), then wasm.
  await initBackend('cpu');
  tf.ones([2]).dataSync();
  const cpu = backendInfo();
  await initBackend('wasm');
  const hash = createHash('sha256');
  tf.tidy(() => {
    const a = tf.randomNormal([300, 500], 0, 1, 'float32', 1);
    const w = tf.variable(tf.randomNormal([500, 400], 0, 0.05, 'float32', 2));
    const w2 = tf.variable(tf.randomNormal([400, 64], 0, 0.05, 'float32', 3));
    hash.update(new Uint8Array(tf.matMul(a, w).dataSync().buffer));
    const { value, grads } = tf.variableGrads(
      () => tf.mean(tf.logSoftmax(tf.matMul(tf.relu(tf.matMul(a, w)), w2))).neg() as tf.Scalar,
    );
    hash.update(new Uint8Array(value.dataSync().buffer));
    for (const name of Object.keys(grads).sort())
      hash.update(new Uint8Array((grads[name] as tf.Tensor).dataSync().buffer));
  });
  console.log(JSON.stringify({ cpu, ...backendInfo(), hash: hash.digest('hex') }));
} else {
  throw new Error(`unknown mode ${mode}`);
}
