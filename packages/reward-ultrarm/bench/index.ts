// pnpm bench: sequences/s scoring 32 sequences x 256 tokens with the "small"
// reward model at micro-batch sizes 1, 4, 8, 16 (JSON lines on stdout).
// Sizes are measured in interleaved rounds (1, 4, 8, 16, 1, 4, ...) so that load
// from other processes drifts over all sizes alike; each line reports wall time
// and this process's CPU time (user + system), the latter being far less
// sensitive to a shared machine.
import { initBackend, Rng } from '@remax/core';
import { loadRewardModel } from '../src/index.js';
import { writeSmallRewardModel } from './smallRewardModel.js';

const SEQUENCES = 32;
const TOKENS = 256;
const SIZES = [1, 4, 8, 16];
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 2);

const backend = await initBackend();
const model = await loadRewardModel(await writeSmallRewardModel(1));
const rng = Rng.fromSeed(2);
const inputIds = Array.from({ length: SEQUENCES }, () => [
  1,
  ...Array.from({ length: TOKENS - 1 }, () => 3 + rng.nextInt(31997)),
]);
const attentionMask = inputIds.map((row) => row.map(() => 1));

const best = new Map(
  SIZES.map((s) => [s, { wall: Number.POSITIVE_INFINITY, cpu: Number.POSITIVE_INFINITY }]),
);
for (const size of SIZES) {
  // warm-up: compiles kernels and packs weights for this batch shape
  model.microBatchSize = size;
  await model.score({
    inputIds: inputIds.slice(0, size),
    attentionMask: attentionMask.slice(0, size),
  });
}
for (let round = 0; round < ROUNDS; round++) {
  for (const size of SIZES) {
    model.microBatchSize = size;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await model.score({ inputIds, attentionMask });
    const wall = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    const b = best.get(size) ?? { wall, cpu: 0 };
    best.set(size, {
      wall: Math.min(b.wall, wall),
      cpu: Math.min(b.cpu, (c.user + c.system) / 1e6),
    });
  }
}
for (const size of SIZES) {
  const { wall, cpu } = best.get(size) ?? { wall: 0, cpu: 0 };
  console.log(
    JSON.stringify({
      bench: 'reward-ultrarm/score',
      backend,
      shape: 'small',
      sequences: SEQUENCES,
      tokens: TOKENS,
      microBatch: size,
      rounds: ROUNDS,
      wallSeconds: Number(wall.toFixed(3)),
      cpuSeconds: Number(cpu.toFixed(3)),
      sequencesPerSecond: Number((SEQUENCES / wall).toFixed(2)),
      sequencesPerCpuSecond: Number((SEQUENCES / cpu).toFixed(2)),
    }),
  );
}
const byCpu = [...best].reduce((a, b) => (b[1].cpu < a[1].cpu ? b : a));
const byWall = [...best].reduce((a, b) => (b[1].wall < a[1].wall ? b : a));
console.log(
  JSON.stringify({
    bench: 'reward-ultrarm/score-best',
    backend,
    byCpu: byCpu[0],
    byWall: byWall[0],
  }),
);
model.dispose();
