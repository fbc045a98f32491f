import type { RunConfig } from '../config/schema.js';

/**
 * The algorithm's own config (its factory's zod schema, camelCase keys),
 * built from the run config: the algorithm's section (`remax:` or `ppo:`)
 * plus the optimizer settings every algorithm shares. The factory validates
 * it, so a key the algorithm does not know fails there, named.
 */
export function algorithmConfig(config: RunConfig, totalSteps: number): Record<string, unknown> {
  const optim = {
    lr: config.optim.lr,
    betas: config.optim.betas,
    eps: config.optim.eps,
    weightDecay: config.optim.weight_decay,
    maxGradNorm: config.optim.max_grad_norm === 0 ? null : config.optim.max_grad_norm,
    schedule: config.optim.schedule,
    warmupSteps: config.optim.warmup_steps,
    totalSteps,
  };
  if (config.algo === 'remax') {
    const r = config.remax;
    return {
      ...optim,
      microBatchSize: config.train.micro_batch_size,
      klPenalty: r.kl_penalty,
      klEstimator: r.kl_estimator,
      klCtl: r.kl_ctl,
      klTarget: r.kl_target,
      klHorizon: r.kl_horizon,
      rewardClip: r.reward_clip,
      gamma: r.gamma,
      tisCap: r.tis_cap,
    };
  }
  const p = config.ppo;
  return {
    klCtl: p.kl_ctl,
    rewardClip: p.reward_clip,
    gamma: p.gamma,
    lam: p.lam,
    cliprange: p.cliprange,
    cliprangeValue: p.cliprange_value,
    ppoEpochs: p.ppo_epochs,
    tisCap: p.tis_cap,
    microBatchSize: config.train.micro_batch_size,
    actor: optim,
    // the critic shares the schedule and clipping, with its own lr and decay
    critic: { ...optim, lr: p.critic_lr, weightDecay: p.critic_weight_decay },
  };
}
