import { initBackend, Rng, tf } from '@remax/core';
import { createCausalLM, SMALL_MISTRAL_CONFIG } from '../src/index.js';
import { profileByKind } from './profile.js';
import { settle } from './timing.js';
await initBackend();
const rng = Rng.fromSeed(0);
const model = createCausalLM(SMALL_MISTRAL_CONFIG, { rng });
const d = model.dims;
const B = 8, T = 128;
const ids = tf.tensor2d(Array.from({ length: B }, () => Array.from({ length: T }, () => rng.nextInt(d.vocab))), undefined, 'int32');
const mask = tf.onesLike(ids) as tf.Tensor2D;
const vars = [...model.parameters().values()];
const kindOf = (kernel: string, shapes: number[][]) => {
  const s = shapes.map((x) => x.join('x')).join(',');
  if (kernel === 'BatchMatMul' || kernel === '_FusedMatMul') {
    const [a, b] = shapes as [number[], number[]];
    if ([...a, ...b].includes(d.vocab)) return 'mm_lmhead';
    if (a.length === 3) return 'mm_attn ' ;
    return 'mm_linear';
  }
  return kernel;
};
const run = () => {
  const { value, grads } = tf.variableGrads(() => tf.sum(model.logprobsOf({ inputIds: ids, attentionMask: mask }, { fromColumn: 63 })) as tf.Scalar, vars);
  for (const g of Object.values(grads)) settle(g);
  tf.dispose([value, ...Object.values(grads)]);
};
run();
for (let i = 0; i < 2; i++) {
  const p = profileByKind(run, kindOf);
  console.log(JSON.stringify(Object.fromEntries(Object.entries(p).sort((x, y) => y[1] - x[1]).map(([k, v]) => [k, Math.round(v)]))));
}
