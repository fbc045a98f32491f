// KL coefficient controllers. Adaptive: Ziegler et al. 2019 ("Fine-Tuning
// Language Models from Human Preferences"), as in openai/lm-human-preferences:
//   e = clip(KL / target - 1, -0.2, 0.2);   beta <- beta * (1 + e * n / horizon)
// where KL is the batch's mean per-sequence KL and n the number of sequences.

export interface KLController {
  /** The current kl_ctl. */
  readonly value: number;
  /** Feeds the observed mean per-sequence KL of a batch of `sequences` rows. */
  update(observedKl: number, sequences: number): void;
}

export class FixedKLController implements KLController {
  constructor(readonly value: number) {}
  update(_observedKl: number, _sequences: number): void {}
}

export class AdaptiveKLController implements KLController {
  value: number;
  constructor(
    initial: number,
    readonly target: number,
    readonly horizon: number,
  ) {
    this.value = initial;
  }

  update(observedKl: number, sequences: number): void {
    // a non-finite KL must not poison the coefficient: the step is skipped elsewhere
    if (!Number.isFinite(observedKl)) return;
    const error = Math.min(0.2, Math.max(-0.2, observedKl / this.target - 1));
    this.value *= 1 + (error * sequences) / this.horizon;
  }
}
