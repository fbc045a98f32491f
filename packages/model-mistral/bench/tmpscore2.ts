import { initBackend, nextTokenScores, Rng, tf } from '@remax/core';
import { createCausalLM, SMALL_MISTRAL_CONFIG } from '../src/index.js';
import { profileByKind } from './profile.js';
await initBackend();
const rng = Rng.fromSeed(0);
const p = createCausalLM(SMALL_MISTRAL_CONFIG, { rng });
const q = createCausalLM(SMALL_MISTRAL_CONFIG, { rng: Rng.fromSeed(1) });
const B = 8, T = 128;
const ids = tf.tensor2d(Array.from({ length: B }, () => Array.from({ length: T }, () => rng.nextInt(32000))), undefined, 'int32');
const mask = tf.onesLike(ids) as tf.Tensor2D;
const kindOf = (kernel: string, shapes: number[][]) => {
  if (kernel === 'BatchMatMul' || kernel === '_FusedMatMul') {
    const [a, b] = shapes as [number[], number[]];
    return [...a, ...b].includes(32000) ? 'mm_lmhead' : 'mm_other';
  }
  return kernel;
};
const run = () => { nextTokenScores(p, q, { inputIds: ids, attentionMask: mask }, { fromColumn: 63 }); };
run();
for (let i = 0; i < 3; i++) {
  const r = profileByKind(run, kindOf);
  console.log(JSON.stringify(Object.fromEntries(Object.entries(r).sort((x, y) => y[1] - x[1]).map(([k, v]) => [k, Math.round(v)]))));
}
