// pnpm bench: sequences/s scoring 32 sequences x 256 tokens with the "small"
// reward model at micro-batch sizes 1, 4, 8, 16 (JSON lines on stdout).
import { initBackend, Rng } from '@remax/core';
import { loadRewardModel } from '../src/index.js';
import { writeSmallRewardModel } from './smallRewardModel.js';

const SEQUENCES = 32;
const TOKENS = 256;
const SIZES = [1, 4, 8, 16];
const REPEATS = Number(process.env['BENCH_REPEATS'] ?? 2);

const backend = await initBackend();
const model = await loadRewardModel(await writeSmallRewardModel(1));
const rng = Rng.fromSeed(2);
const inputIds = Array.from({ length: SEQUENCES }, () => [
  1,
  ...Array.from({ length: TOKENS - 1 }, () => 3 + rng.nextInt(31997)),
]);
const attentionMask = inputIds.map((row) => row.map(() => 1));

const results: { microBatch: number; sequencesPerSecond: number }[] = [];
for (const size of SIZES) {
  model.microBatchSize = size;
  await model.score({
    inputIds: inputIds.slice(0, size),
    attentionMask: attentionMask.slice(0, size),
  });
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < REPEATS; r++) {
    const t0 = performance.now();
    await model.score({ inputIds, attentionMask });
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  const sequencesPerSecond = SEQUENCES / best;
  results.push({ microBatch: size, sequencesPerSecond });
  console.log(
    JSON.stringify({
      bench: 'reward-ultrarm/score',
      backend,
      shape: 'small',
      sequences: SEQUENCES,
      tokens: TOKENS,
      microBatch: size,
      seconds: Number(best.toFixed(3)),
      sequencesPerSecond: Number(sequencesPerSecond.toFixed(2)),
      tokensPerSecond: Math.round(sequencesPerSecond * TOKENS),
    }),
  );
}
const fastest = results.reduce((a, b) => (b.sequencesPerSecond > a.sequencesPerSecond ? b : a));
console.log(
  JSON.stringify({ bench: 'reward-ultrarm/score-best', backend, microBatch: fastest.microBatch }),
);
model.dispose();
