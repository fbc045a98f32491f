// Seeds of the sampled rows, shared by in-process generation, the remote
// (vLLM-protocol) client and `serve`, so all three draw the same tokens.
//
// vLLM gives sample j of a request with seed s the seed s + j
// (parallel_sampling: child seed = seed + index). So a row's stream is keyed
// by one integer: promptSeed(rolloutSeed, promptIndex) + j, and a request for
// prompt i carries `seed: promptSeed(rolloutSeed, i)` and `n: k`.

import { Rng } from '@remax/core';

/** 2^52: prompt seeds stay below it, so seed + j is a safe integer (and an int64 for vLLM). */
const PROMPT_SEED_RANGE = 2 ** 52;

/** The request seed of prompt `promptIndex` in the rollout seeded with `seed` (in [0, 2^52)). */
export function promptSeed(seed: number, promptIndex: number): number {
  const rng = Rng.derive(seed, promptIndex);
  const hi = rng.nextUint32() % 2 ** 20; // 20 + 32 bits
  return (hi * 2 ** 32 + rng.nextUint32()) % PROMPT_SEED_RANGE;
}

/** The RNG stream of one sequence whose (vLLM) seed is `sequenceSeed`. */
export function sequenceRng(sequenceSeed: number): Rng {
  return Rng.fromSeed(sequenceSeed);
}

/** Stream of sample j of prompt `promptIndex` in the rollout seeded with `seed`. */
export function sampleRng(seed: number, promptIndex: number, j: number): Rng {
  return sequenceRng(promptSeed(seed, promptIndex) + j);
}
