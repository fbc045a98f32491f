import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, isRemaxError, tf } from '@remax/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCausalLM } from '../src/index.js';
import { fixtureDir } from './helpers.js';

// tiny-ultrarm: a LlamaRewardModel checkpoint (Llama backbone, no lm_head,
// regression_head.weight [1, H]). Its golden rewards = regression_head(hidden
// after the final norm) at the last position whose mask is 1.
interface Batch {
  input_ids: number[][];
  attention_mask: number[][];
  rewards: number[];
}
const goldenOf = (name: string) =>
  JSON.parse(readFileSync(`${fixtureDir(name)}/golden.json`, 'utf8')) as {
    right_padded: Batch;
    left_padded: Batch;
  };

describe('Llama backbone (tiny-ultrarm)', () => {
  beforeAll(async () => {
    await initBackend();
  });

  it.each(['tiny-ultrarm', 'unseen-ultrarm'])(
    '%s: hiddenStates + extra regression head reproduce the golden rewards (both paddings)',
    async (name) => {
      const golden = goldenOf(name);
      const model = await loadCausalLM(fixtureDir(name), {
        withLMHead: false,
        extraTensors: ['regression_head.weight'],
      });
      try {
        expect(model.config.model_type).toBe('llama');
        expect(model.parameters().has('lm_head.weight')).toBe(false);
        const head = model.extra.get('regression_head.weight');
        expect(head?.shape).toEqual([1, model.config.hidden_size]);
        for (const batch of [golden.right_padded, golden.left_padded]) {
          const rewards = tf.tidy(() => {
            const h = model.hiddenStates({
              inputIds: batch.input_ids,
              attentionMask: batch.attention_mask,
            });
            const perPos = tf
              .squeeze(tf.matMul(h, tf.transpose(head as tf.Tensor2D)), [2])
              .arraySync() as number[][];
            return batch.attention_mask.map((m, b) => perPos[b]?.[m.lastIndexOf(1)] as number);
          });
          rewards.forEach((r, b) => {
            expect(Math.abs(r - (batch.rewards[b] as number))).toBeLessThan(1e-4);
          });
        }
        expect(() => model.forward({ inputIds: [[1, 2]], attentionMask: [[1, 1]] })).toThrow(
          /withLMHead/,
        );
      } finally {
        model.dispose();
      }
    },
  );

  it('PyTorch .bin shards load to the same weights as the safetensors file', async () => {
    const src = fixtureDir('tiny-ultrarm');
    const binDir = mkdtempSync(join(tmpdir(), 'remax-ultrarm-bin-'));
    try {
      for (const f of readdirSync(src)) {
        if (f === 'config.json' || f.startsWith('pytorch_model'))
          symlinkSync(join(src, f), join(binDir, f));
      }
      const opts = { withLMHead: false, extraTensors: ['regression_head.weight'] };
      const [a, b] = [await loadCausalLM(src, opts), await loadCausalLM(binDir, opts)];
      try {
        for (const [name, v] of [...a.parameters(), ...a.extra]) {
          const w = b.parameters().get(name) ?? b.extra.get(name);
          const [x, y] = [(w as tf.Variable).dataSync(), v.dataSync()] as [
            Float32Array,
            Float32Array,
          ];
          expect(
            Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(
              Buffer.from(y.buffer, y.byteOffset, y.byteLength),
            ),
            name,
          ).toBe(true);
        }
      } finally {
        a.dispose();
        b.dispose();
      }
    } finally {
      rmSync(binDir, { recursive: true, force: true });
    }
  });

  it('a checkpoint that does not match reports every problem in one typed error', async () => {
    let err: unknown;
    try {
      await loadCausalLM(fixtureDir('tiny-ultrarm'));
    } catch (e) {
      err = e;
    }
    expect(isRemaxError(err, 'E_CHECKPOINT')).toBe(true);
    expect(String(err)).toContain('missing lm_head.weight');
    expect(String(err)).toContain('unexpected regression_head.weight');
  });
});
