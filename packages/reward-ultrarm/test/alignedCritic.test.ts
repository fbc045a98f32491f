import { initBackend, tf } from '@remax/core';
import { Tokenizer } from '@remax/tokenizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  alignToCritic,
  loadValueModel,
  tokenAlignedCritic,
  type UltraValueModel,
} from '../src/index.js';
import { LLAMA_TOKENIZER, MISTRAL_TOKENIZER, ULTRARM_DIR } from './helpers.js';

let critic: UltraValueModel;
let mistral: Tokenizer;
let llama: Tokenizer;

beforeAll(async () => {
  await initBackend();
  critic = await loadValueModel(ULTRARM_DIR);
  mistral = await Tokenizer.fromFile(MISTRAL_TOKENIZER);
  llama = await Tokenizer.fromFile(LLAMA_TOKENIZER);
});
afterAll(() => critic.dispose());

/** Left-padded prompt + right-padded response rows in the policy's mistral-v1 format. */
function policyBatch(tok: Tokenizer, rows: { user: string; answer: string; done: boolean }[]) {
  const prompts = rows.map((r) =>
    tok.encodeChat([{ role: 'user', content: r.user }], 'mistral-v1'),
  );
  const answers = rows.map((r) => [...tok.encode(r.answer), ...(r.done ? [tok.eosId] : [])]);
  const P = Math.max(...prompts.map((p) => p.length));
  const R = Math.max(...answers.map((a) => a.length));
  const ids = prompts.map((p, b) => {
    const a = answers[b] as number[];
    return [...new Array(P - p.length).fill(0), ...p, ...a, ...new Array(R - a.length).fill(0)];
  });
  const mask = prompts.map((p, b) => {
    const a = answers[b] as number[];
    return [
      ...new Array(P - p.length).fill(0),
      ...p.map(() => 1),
      ...a.map(() => 1),
      ...new Array(R - a.length).fill(0),
    ];
  });
  return { ids, mask, P };
}

const rows = [
  { user: 'Name a color.', answer: 'Blue, like the sky.', done: true },
  { user: 'Write one word about the sea, please.', answer: 'Waves', done: false },
];

describe('token-aligned critic', () => {
  it('maps policy positions monotonically onto critic tokens that end inside the text prefix', () => {
    const { ids, mask, P } = policyBatch(mistral, rows);
    const batch = {
      inputIds: tf.tensor2d(ids, undefined, 'int32'),
      attentionMask: tf.tensor2d(mask, undefined, 'int32'),
      promptLength: P,
    };
    const { criticIds, positions } = alignToCritic(batch, mistral, llama);
    tf.dispose([batch.inputIds, batch.attentionMask]);
    positions.forEach((row, b) => {
      const c = criticIds[b] as number[];
      const prompt = llama.decode(c.slice(1, (row[P - 1] as number) + 1));
      expect(prompt.endsWith('Assistant:')).toBe(true); // column P-1: the prompt alone
      for (let t = P; t < row.length; t++)
        expect(row[t]).toBeGreaterThanOrEqual(row[t - 1] as number);
      expect(row[row.length - 1]).toBe(c.length - 1); // the full response reaches the last critic token
    });
  });

  it('equals the critic on its own ids when both sides share one tokenizer, with gradients', () => {
    const { ids, mask, P } = policyBatch(llama, rows);
    const batch = {
      inputIds: tf.tensor2d(ids, undefined, 'int32'),
      attentionMask: tf.tensor2d(mask, undefined, 'int32'),
      promptLength: P,
    };
    const aligned = tokenAlignedCritic(
      critic,
      { policy: llama, critic: llama },
      { maxLength: 512 },
    );
    const { criticIds, positions } = alignToCritic(batch, llama, llama);
    const values = aligned.values(batch).arraySync();
    criticIds.forEach((c, b) => {
      const own = critic.values({
        inputIds: tf.tensor2d([c], undefined, 'int32'),
        attentionMask: tf.tensor2d([c.map(() => 1)], undefined, 'int32'),
      });
      const ownRow = own.arraySync()[0] as number[];
      own.dispose();
      for (let t = P - 1; t < (positions[b] as number[]).length; t++) {
        expect(
          Math.abs((values[b]?.[t] as number) - (ownRow[positions[b]?.[t] as number] as number)),
        ).toBeLessThan(1e-4);
      }
    });
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(
      () => tf.sum(aligned.values(batch)) as tf.Scalar,
      [...critic.parameters().values()],
    );
    const headGrad = tf.tidy(() =>
      Object.values(grads).some((g) => (tf.sum(tf.abs(g)).dataSync()[0] as number) > 0),
    );
    expect(headGrad).toBe(true);
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([batch.inputIds, batch.attentionMask]);
  });

  it('refuses a batch without promptLength', () => {
    const aligned = tokenAlignedCritic(
      critic,
      { policy: mistral, critic: llama },
      { maxLength: 512 },
    );
    const t = tf.tensor2d([[1, 2]], undefined, 'int32');
    expect(() => aligned.values({ inputIds: t, attentionMask: t })).toThrow(/promptLength/);
    t.dispose();
  });
});
