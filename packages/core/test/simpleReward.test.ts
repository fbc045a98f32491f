import { beforeAll, expect, it } from 'vitest';
import { initBackend, tf, tokenFractionReward } from '../src/index.js';

beforeAll(async () => {
  await initBackend();
});

it('tokenFractionReward counts target tokens among real response tokens only', async () => {
  const batch = {
    inputIds: tf.tensor2d(
      [
        [0, 5, 1, 9, 1, 0],
        [5, 5, 9, 9, 9, 1],
      ],
      undefined,
      'int32',
    ),
    attentionMask: tf.tensor2d(
      [
        [0, 1, 1, 1, 1, 0],
        [1, 1, 1, 1, 1, 1],
      ],
      undefined,
      'int32',
    ),
    promptLength: 2,
  };
  const rewards = await tokenFractionReward((id) => id === 9)(batch);
  // row 0: response [1, 9, 1] (the pad is not counted) -> 1/3; row 1: [9, 9, 9, 1] -> 3/4
  expect(Array.from(rewards)).toEqual([Math.fround(1 / 3), 0.75]);
  tf.dispose([batch.inputIds, batch.attentionMask]);
});
