// One PPO step end to end on tiny-mistral-swa (policy) vs its reference-policy,
// with a critic made of the policy's backbone + a value head (the critic init
// verl uses when no reward model shares the policy's tokenizer).
import { fileURLToPath } from 'node:url';
import { type AlgorithmContext, initBackend, Rng, tf, tokenFractionReward } from '@remax/core';
import { loadCausalLM } from '@remax/model-mistral';
import { UltraValueModel } from '@remax/reward-ultrarm';
import { rolloutGenerator } from '@remax/rollout';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ppo } from '../src/index.js';

const SWA = fileURLToPath(new URL('../../../fixtures/models/tiny-mistral-swa', import.meta.url));
const owned: { dispose(): void }[] = [];

async function context(): Promise<AlgorithmContext> {
  const policy = await loadCausalLM(SWA);
  const reference = await loadCausalLM(`${SWA}/reference-policy`);
  const backbone = await loadCausalLM(SWA, { withLMHead: false });
  const hidden = backbone.config.hidden_size;
  const head = tf.variable(tf.fill([1, hidden], 0.05), true, `value_head_${owned.length}`);
  const critic = new UltraValueModel(backbone, head, { dir: SWA, rawConfig: {} });
  owned.push(policy, reference, critic);
  return {
    policy,
    reference,
    critic,
    generate: rolloutGenerator(policy, {
      maxNewTokens: 6,
      temperature: 1,
      eosTokenId: 2,
      returnLogprobs: true,
    }),
    reward: targetFraction,
    rng: Rng.fromSeed(11),
  };
}

/** Reward: fraction of response tokens below id 64. */
const targetFraction = tokenFractionReward((id) => id < 64);

const prompts = () => ({
  inputIds: tf.tensor2d(
    [
      [0, 1, 17, 200, 33],
      [1, 301, 77, 5, 300],
      [0, 0, 1, 40, 41],
      [1, 9, 8, 7, 6],
    ],
    undefined,
    'int32',
  ),
  attentionMask: tf.tensor2d(
    [
      [0, 1, 1, 1, 1],
      [1, 1, 1, 1, 1],
      [0, 0, 1, 1, 1],
      [1, 1, 1, 1, 1],
    ],
    undefined,
    'int32',
  ),
});

const snapshot = (m: Map<string, tf.Variable>) =>
  [...m.values()].map((v) => Array.from(v.dataSync()));
const config = { microBatchSize: 2, actor: { lr: 1e-3 }, critic: { lr: 1e-3 } };

beforeAll(async () => {
  await initBackend();
});
afterAll(() => {
  for (const o of owned) o.dispose();
});

describe('PPO step', () => {
  it('updates actor and critic with finite metrics and no tensor growth across steps', async () => {
    const ctx = await context();
    const algo = new Ppo(config, ctx);
    const actorBefore = snapshot(ctx.policy.parameters());
    const criticBefore = snapshot(ctx.critic!.parameters());
    const counts: number[] = [];
    for (let step = 0; step < 3; step++) {
      const batch = prompts();
      const experience = await algo.makeExperience(batch);
      const metrics = await algo.trainStep(experience);
      experience.dispose();
      tf.dispose([batch.inputIds, batch.attentionMask]);
      for (const key of [
        'loss/actor',
        'loss/critic',
        'optim/grad_norm',
        'reward/mean',
        'kl/penalty',
      ]) {
        expect(Number.isFinite(metrics[key])).toBe(true);
      }
      expect(metrics['optim/skipped']).toBe(0);
      counts.push(tf.memory().numTensors);
    }
    expect(counts[2]).toBe(counts[1]);
    expect(snapshot(ctx.policy.parameters())).not.toEqual(actorBefore);
    expect(snapshot(ctx.critic!.parameters())).not.toEqual(criticBefore);
    algo.dispose();
  });

  it('masks a row whose score is not finite and trains on the rest (reward/nonfinite_rows)', async () => {
    const ctx = await context();
    const holes: AlgorithmContext['reward'] = async (b) => {
      const r = await targetFraction(b);
      r[1] = Number.NaN;
      return r;
    };
    const algo = new Ppo(config, { ...ctx, reward: holes });
    const actorBefore = snapshot(ctx.policy.parameters());
    const batch = prompts();
    const experience = await algo.makeExperience(batch);
    expect(experience.mask[1]?.every((m) => m === 0)).toBe(true);
    expect(experience.advantages.flat().every(Number.isFinite)).toBe(true);
    const metrics = await algo.trainStep(experience);
    experience.dispose();
    tf.dispose([batch.inputIds, batch.attentionMask]);
    expect(metrics['reward/nonfinite_rows']).toBe(1);
    expect(Number.isFinite(metrics['reward/mean'])).toBe(true);
    expect(metrics['optim/skipped']).toBe(0);
    expect(snapshot(ctx.policy.parameters())).not.toEqual(actorBefore);
    algo.dispose();
  });

  it('micro-batching does not change the update, and state restores exactly', async () => {
    const a = await context();
    const b = await context();
    const algoA = new Ppo({ ...config, microBatchSize: 4 }, a);
    const algoB = new Ppo({ ...config, microBatchSize: 1 }, b);
    const batch = prompts();
    const experience = await algoA.makeExperience(batch);
    const ma = await algoA.trainStep(experience);
    const mb = await algoB.trainStep(experience);
    expect(Math.abs(ma['loss/actor']! - mb['loss/actor']!)).toBeLessThan(1e-5);
    expect(Math.abs(ma['loss/critic']! - mb['loss/critic']!)).toBeLessThan(1e-5);
    expect(Math.abs(ma['optim/grad_norm']! / mb['optim/grad_norm']! - 1)).toBeLessThan(1e-4);
    // restore A's optimizer state into B, align weights, step both again on the same experience
    const state = algoA.getState();
    algoB.setState(state);
    tf.dispose([...state.tensors.values()]);
    for (const [name, v] of a.policy.parameters()) b.policy.parameters().get(name)!.assign(v);
    for (const [name, v] of a.critic!.parameters()) b.critic!.parameters().get(name)!.assign(v);
    await algoA.trainStep(experience);
    await algoB.trainStep(experience);
    const pa = snapshot(a.policy.parameters());
    const pb = snapshot(b.policy.parameters());
    pa.forEach((row, i) => {
      row.forEach((x, j) => {
        expect(Math.abs(x - (pb[i]?.[j] as number))).toBeLessThan(1e-6);
      });
    });
    experience.dispose();
    tf.dispose([batch.inputIds, batch.attentionMask]);
    algoA.dispose();
    algoB.dispose();
  });

  it('refuses a context without a critic', async () => {
    const ctx = await context();
    const { critic: _unused, ...noCritic } = ctx;
    expect(() => new Ppo(config, noCritic)).toThrow(/critic/);
  });
});
