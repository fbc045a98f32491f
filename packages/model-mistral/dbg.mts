import { initBackend, tf } from '@remax/core';

await initBackend();
const x = tf.randomNormal([131, 32000]) as tf.Tensor2D;
const time = (name: string, f: () => tf.Tensor) => {
  f().dispose();
  const t0 = performance.now();
  const r = f();
  r.dataSync();
  r.dispose();
  console.log(name, (performance.now() - t0).toFixed(1));
};
time('max', () => tf.max(x, 1, true));
time('sub', () => tf.sub(x, tf.scalar(1)));
time('subBroadcast', () => tf.tidy(() => tf.sub(x, tf.ones([131, 1]))));
time('exp', () => tf.exp(x));
time('sum', () => tf.sum(x, 1));
time('logSumExp', () => tf.logSumExp(x, 1));
time('logSoftmax', () => tf.logSoftmax(x));
time('softmax', () => tf.softmax(x));
time('slice', () => tf.slice(x, [10, 0], [100, 32000]));
time('gather', () => tf.gather(tf.reshape(x, [-1]), tf.tensor1d([1, 5, 100000], 'int32')));
