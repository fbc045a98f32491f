// `pnpm bench`: wasm matMul speed on 1 thread vs N threads, measured in the same
// run (thread count is fixed per process, so each runs in its own child); then
// AdamW and the update phase over the small policy (bench/adamw.ts).
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./matmul.ts', import.meta.url));
const threaded = Number(process.env['BENCH_THREADS'] ?? os.availableParallelism());

interface Line {
  bench: string;
  threads: number;
  ms: number;
  gflops: number;
  /** CPU seconds per wall second: ~threads on an idle machine, far less on a busy one. */
  cpuPerWall: number;
}

function runWith(threads: number): Line[] {
  const out = execFileSync(
    process.execPath,
    ['--conditions=@remax/source', '--import', 'tsx', script],
    {
      env: { ...process.env, REMAX_BACKEND: 'wasm', REMAX_WASM_THREADS: String(threads) },
      encoding: 'utf8',
    },
  );
  return out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);
}

// Alternate the two settings (BENCH_ROUNDS times) and keep each one's best, so a
// load spike on a shared machine does not land on one side only.
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 2);
const best = (runs: Line[][]): Line[] =>
  (runs[0] ?? []).map((first) =>
    runs
      .flat()
      .filter((l) => l.bench === first.bench)
      .reduce((a, b) => (b.gflops > a.gflops ? b : a)),
  );
const singleRuns: Line[][] = [];
const multiRuns: Line[][] = [];
for (let r = 0; r < rounds; r++) {
  singleRuns.push(runWith(1));
  multiRuns.push(runWith(threaded));
}
const single = best(singleRuns);
const multi = best(multiRuns);
for (const line of [...single, ...multi]) console.log(JSON.stringify(line));
for (const s of single) {
  const m = multi.find((x) => x.bench === s.bench);
  if (m === undefined) continue;
  console.log(
    JSON.stringify({
      bench: `${s.bench}_speedup`,
      threads: m.threads,
      ratio: +(m.gflops / s.gflops).toFixed(2),
      loadavg1: +(os.loadavg()[0] ?? 0).toFixed(2),
      cores: os.availableParallelism(),
    }),
  );
}

// AdamW and the whole update phase over the small policy's parameters (bench/adamw.ts)
process.stdout.write(
  execFileSync(
    process.execPath,
    [
      '--conditions=@remax/source',
      '--import',
      'tsx',
      fileURLToPath(new URL('./adamw.ts', import.meta.url)),
    ],
    {
      env: { ...process.env, REMAX_BACKEND: 'wasm' },
      encoding: 'utf8',
    },
  ),
);
