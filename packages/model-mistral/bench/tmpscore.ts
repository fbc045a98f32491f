import { initBackend, nextTokenScores, Rng, tf } from '@remax/core';
import { createCausalLM, SMALL_MISTRAL_CONFIG } from '../src/index.js';
await initBackend();
const rng = Rng.fromSeed(0);
const p = createCausalLM(SMALL_MISTRAL_CONFIG, { rng });
const q = createCausalLM(SMALL_MISTRAL_CONFIG, { rng: Rng.fromSeed(1) });
const B = 8, T = 128;
const ids = tf.tensor2d(Array.from({ length: B }, () => Array.from({ length: T }, () => rng.nextInt(32000))), undefined, 'int32');
const mask = tf.onesLike(ids) as tf.Tensor2D;
for (const chunk of [1 << 22, 1 << 21, 1 << 20, 1 << 22, 1 << 19]) {
  const times: number[] = [];
  for (let i = 0; i < 4; i++) {
    const t0 = performance.now();
    nextTokenScores(p, q, { inputIds: ids, attentionMask: mask }, { fromColumn: 63, maxChunkElements: chunk });
    times.push(performance.now() - t0);
  }
  console.log(chunk, times.map(Math.round));
}
