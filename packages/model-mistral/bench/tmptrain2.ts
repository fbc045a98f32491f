import { initBackend, Rng, tf } from '@remax/core';
import { createCausalLM, SMALL_MISTRAL_CONFIG } from '../src/index.js';
import { settle } from './timing.js';
await initBackend();
const rng = Rng.fromSeed(0);
const model = createCausalLM(SMALL_MISTRAL_CONFIG, { rng });
const d = model.dims;
const B = 8, T = 128;
const ids = tf.tensor2d(Array.from({ length: B }, () => Array.from({ length: T }, () => rng.nextInt(d.vocab))), undefined, 'int32');
const mask = tf.onesLike(ids) as tf.Tensor2D;
const vars = [...model.parameters().values()];
const run = () => {
  const { value, grads } = tf.variableGrads(() => tf.sum(model.logprobsOf({ inputIds: ids, attentionMask: mask }, { fromColumn: 63 })) as tf.Scalar, vars);
  for (const g of Object.values(grads)) settle(g);
  tf.dispose([value, ...Object.values(grads)]);
};
for (let i = 0; i < 6; i++) { const t0 = performance.now(); run(); console.log(Math.round(performance.now() - t0)); }
