// Learning-rate multipliers as transformers' schedules (the LambdaLR lambdas),
// at 0-based scheduler step `step`; lr = base_lr * multiplier.
import { RemaxError } from '../errors.js';

export interface WarmupSchedule {
  /** Steps of linear warmup from 0 to 1. */
  warmupSteps: number;
  /** Total scheduler steps of the run (num_training_steps). */
  totalSteps: number;
}

function check(step: number, s: WarmupSchedule): void {
  for (const [field, value] of [
    ['step', step],
    ['warmupSteps', s.warmupSteps],
    ['totalSteps', s.totalSteps],
  ] as const) {
    if (!Number.isInteger(value) || value < 0) {
      throw new RemaxError('E_INPUT', 'schedule steps must be integers >= 0', { field, value });
    }
  }
}

/** get_linear_schedule_with_warmup: 0 -> 1 over the warmup, then linearly to 0 at totalSteps. */
export function linearWithWarmup(step: number, s: WarmupSchedule): number {
  check(step, s);
  if (step < s.warmupSteps) return step / Math.max(1, s.warmupSteps);
  return Math.max(0, (s.totalSteps - step) / Math.max(1, s.totalSteps - s.warmupSteps));
}

/**
 * get_cosine_schedule_with_warmup: 0 -> 1 over the warmup, then half a cosine
 * (numCycles 0.5) down to 0 at totalSteps.
 */
export function cosineWithWarmup(step: number, s: WarmupSchedule & { numCycles?: number }): number {
  check(step, s);
  if (step < s.warmupSteps) return step / Math.max(1, s.warmupSteps);
  const progress = (step - s.warmupSteps) / Math.max(1, s.totalSteps - s.warmupSteps);
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * (s.numCycles ?? 0.5) * 2 * progress)));
}

/** get_constant_schedule_with_warmup: 0 -> 1 over the warmup, then 1. */
export function constantWithWarmup(step: number, s: Pick<WarmupSchedule, 'warmupSteps'>): number {
  check(step, { ...s, totalSteps: 0 });
  return step < s.warmupSteps ? step / Math.max(1, s.warmupSteps) : 1;
}

export type ScheduleKind = 'constant' | 'linear' | 'cosine';

/** The multiplier of the named schedule (for configs that name one). */
export function lrMultiplier(kind: ScheduleKind, step: number, s: WarmupSchedule): number {
  switch (kind) {
    case 'constant':
      return constantWithWarmup(step, s);
    case 'linear':
      return linearWithWarmup(step, s);
    case 'cosine':
      return cosineWithWarmup(step, s);
    default:
      throw new RemaxError('E_INPUT', 'unknown learning-rate schedule', {
        field: 'schedule',
        value: kind,
        expected: 'constant | linear | cosine',
      });
  }
}
