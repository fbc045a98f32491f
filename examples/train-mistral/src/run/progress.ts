import cliProgress from 'cli-progress';
import type { StepRecord } from './metrics.js';

const fmt = (v: number | null, digits = 3) => (v === null ? '-' : v.toFixed(digits));

/** A one-line progress bar: step, reward, KL, tokens/s and ETA (stderr, so stdout stays data). */
export class TrainProgress {
  private readonly bar: cliProgress.SingleBar | null;

  constructor(total: number, start: number, enabled: boolean) {
    this.bar = enabled
      ? new cliProgress.SingleBar(
          {
            format:
              'step {value}/{total} |{bar}| reward {reward} greedy {greedy} KL {kl} | {tps} tok/s | ETA {eta_formatted}',
            hideCursor: true,
            etaBuffer: 5,
            stream: process.stderr,
          },
          cliProgress.Presets.shades_classic,
        )
      : null;
    this.bar?.start(total, start, { reward: '-', greedy: '-', kl: '-', tps: '-' });
  }

  update(r: StepRecord): void {
    this.bar?.update(r.step, {
      reward: fmt(r.reward),
      greedy: fmt(r.greedy_reward),
      kl: fmt(r.kl, 4),
      tps: r.tokens_per_s.toFixed(0),
    });
  }

  stop(): void {
    this.bar?.stop();
  }
}
