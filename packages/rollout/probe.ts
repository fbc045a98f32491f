import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, Rng, tf } from '@remax/core';
import { loadCausalLM } from '@remax/model-mistral';
import { SMALL, writeRandomCheckpoint } from './bench/randomCheckpoint.js';
import { TokenSampler } from './src/index.js';

console.log(await initBackend());
const dir = await mkdtemp(join(tmpdir(), 'rb-'));
await writeRandomCheckpoint(dir, SMALL, 1);
const model = await loadCausalLM(dir);
if (process.env['ATT']) model.attentionMatMul = process.env['ATT'] as 'batched';
const rng = Rng.fromSeed(2);
const B = 8,
  P = 64;
const ids = Array.from({ length: B }, () =>
  Array.from({ length: P }, () => 3 + rng.nextInt(31000)),
);
const mask = ids.map((r) => r.map(() => 1));
const cache = model.createKVCache(B, 200);
let t0 = performance.now();
let lg = model.forward({
  inputIds: tf.tensor2d(ids, undefined, 'int32'),
  attentionMask: tf.tensor2d(mask, undefined, 'int32'),
  kvCache: cache,
  lastOnly: true,
});
let data = await lg.data();
lg.dispose();
console.log('prefill', (performance.now() - t0).toFixed(0));
const sampler = new TokenSampler(32000);
for (let s = 0; s < 12; s++) {
  for (const r of mask) r.push(1);
  t0 = performance.now();
  lg = model.forward({
    inputIds: tf.tensor2d(
      ids.map(() => [5]),
      undefined,
      'int32',
    ),
    attentionMask: tf.tensor2d(mask, undefined, 'int32'),
    kvCache: cache,
    lastOnly: true,
  });
  const t1 = performance.now();
  data = await lg.data();
  lg.dispose();
  const t2 = performance.now();
  for (let b = 0; b < B; b++)
    sampler.sample(
      data.subarray(b * 32000, (b + 1) * 32000) as Float32Array,
      { temperature: 0.7, topK: 0, topP: 0.9 },
      rng,
    );
  const t3 = performance.now();
  console.log(
    'step forward',
    (t1 - t0).toFixed(0),
    'data',
    (t2 - t1).toFixed(0),
    'sample8',
    (t3 - t2).toFixed(0),
  );
}
const h = tf.randomNormal([8, 256]) as tf.Tensor2D;
const w = tf.randomNormal([256, 32000]) as tf.Tensor2D;
for (let i = 0; i < 3; i++) {
  t0 = performance.now();
  const o = tf.matMul(h, w);
  await o.data();
  o.dispose();
  console.log('lmhead matmul', (performance.now() - t0).toFixed(1));
}
