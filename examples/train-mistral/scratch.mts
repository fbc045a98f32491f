import { remaxAlgorithm } from '../../packages/algo-remax/src/remax.ts';
import { loadRunConfig } from './src/config/load.ts';
import { train } from './src/run/train.ts';

const { config } = loadRunConfig('configs/tiny.yaml', { set: process.argv.slice(2) });
const t0 = performance.now();
const r = await train({
  config,
  factories: { remax: remaxAlgorithm as never },
  runDir: process.env.RUN_DIR ?? '/tmp/scratch-run',
  progress: false,
  onStep: (x) =>
    console.log(
      JSON.stringify({
        s: x.step,
        r: x.reward?.toFixed(3),
        g: x.greedy_reward?.toFixed(3),
        kl: x.kl?.toFixed(4),
        len: x.response_length,
        sec: x.seconds.toFixed(2),
        mem: x.peak_tensor_bytes,
      }),
    ),
});
console.log('total s', (performance.now() - t0) / 1000, r.stopped);
