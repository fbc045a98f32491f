import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, Rng, tf } from '@remax/core';
import { openCheckpoint } from '@remax/safetensors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCausalLM, loadCausalLM } from '../src/index.js';
import { fixtureDir } from './helpers.js';

/** Every tensor of two checkpoints, compared as raw stored values (bitwise). */
async function expectSameTensors(a: string, b: string): Promise<void> {
  const ca = await openCheckpoint(a);
  const cb = await openCheckpoint(b);
  try {
    expect(cb.names().sort()).toEqual(ca.names().sort());
    for (const n of ca.names()) {
      expect(cb.info(n), n).toEqual(ca.info(n));
      const [x, y] = [await ca.read(n), await cb.read(n)];
      expect(
        Buffer.from(y.buffer, y.byteOffset, y.byteLength).equals(
          Buffer.from(x.buffer, x.byteOffset, x.byteLength),
        ),
        n,
      ).toBe(true);
    }
  } finally {
    await Promise.all([ca.close(), cb.close()]);
  }
}

describe('save -> load round trip', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'remax-mistral-'));
  beforeAll(async () => {
    await initBackend();
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('loading then disposing a model leaves no tensors behind', async () => {
    const before = tf.memory().numTensors;
    const model = await loadCausalLM(fixtureDir('tiny-mistral-swa'));
    expect(tf.memory().numTensors).toBe(before + model.parameters().size);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a created model with an extra head saves and loads back with extraTensors', async () => {
    const config = {
      model_type: 'llama',
      vocab_size: 40,
      hidden_size: 8,
      intermediate_size: 16,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      num_key_value_heads: 1,
    };
    const created = createCausalLM(config, {
      rng: Rng.fromSeed(3),
      withLMHead: false,
      extraTensors: { 'regression_head.weight': [1, 8] },
    });
    const out = join(tmp, 'created');
    await created.save(out, { dtype: 'float32' });
    const loaded = await loadCausalLM(out, {
      withLMHead: false,
      extraTensors: ['regression_head.weight'],
    });
    const head = loaded.extra.get('regression_head.weight');
    expect(head?.shape).toEqual([1, 8]);
    expect(Array.from(head!.dataSync())).toEqual(
      Array.from(created.extra.get('regression_head.weight')!.dataSync()),
    );
    created.dispose();
    loaded.dispose();
  });

  it('bf16, sharded like HF (index + shards), tokenizer copied: bitwise, same logits', async () => {
    const src = fixtureDir('tiny-mistral');
    const out = join(tmp, 'bf16');
    const model = await loadCausalLM(src);
    try {
      await model.save(out, { dtype: 'bfloat16', maxShardBytes: 2_000_000, tokenizerFrom: src });
      const files = readdirSync(out).sort();
      expect(files).toContain('model.safetensors.index.json');
      const shards = files.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f));
      expect(shards.length).toBeGreaterThanOrEqual(2); // embed and lm_head (4 MB each) exceed 2 MB
      expect(files).toContain('tokenizer.model');
      const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
      expect(cfg.torch_dtype).toBe('bfloat16');
      expect(cfg.model_type).toBe('mistral');
      expect(cfg.sliding_window).toBe(null);
      await expectSameTensors(src, out);
      const back = await loadCausalLM(out);
      try {
        const ids = [[1, 733, 16289, 28793, 1824]];
        const mask = [[1, 1, 1, 1, 1]];
        const d = tf.tidy(
          () =>
            tf
              .max(
                tf.abs(
                  tf.sub(
                    model.forward({ inputIds: ids, attentionMask: mask }),
                    back.forward({ inputIds: ids, attentionMask: mask }),
                  ),
                ),
              )
              .dataSync()[0],
        );
        expect(d).toBe(0);
      } finally {
        back.dispose();
      }
    } finally {
      model.dispose();
    }
  });

  it('f32 single file: bitwise', async () => {
    const src = fixtureDir('tiny-mistral-swa');
    const out = join(tmp, 'f32');
    const model = await loadCausalLM(src);
    try {
      await model.save(out, { dtype: 'float32' });
      expect(readdirSync(out).sort()).toEqual(['config.json', 'model.safetensors']);
      await expectSameTensors(src, out);
      const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
      expect(cfg.sliding_window).toBe(5);
    } finally {
      model.dispose();
    }
  });

  it('trained weights are saved: an assigned variable round-trips through f32', async () => {
    const src = fixtureDir('tiny-mistral-swa');
    const out = join(tmp, 'assigned');
    const model = await loadCausalLM(src);
    try {
      const w = model.parameters().get('model.layers.0.self_attn.q_proj.weight') as tf.Variable;
      w.assign(tf.tidy(() => tf.mul(w, 1.5)));
      await model.save(out, { dtype: 'float32' });
      const back = await loadCausalLM(out);
      try {
        const w2 = back.parameters().get('model.layers.0.self_attn.q_proj.weight') as tf.Variable;
        expect(Array.from(w2.dataSync())).toEqual(Array.from(w.dataSync()));
      } finally {
        back.dispose();
      }
    } finally {
      model.dispose();
    }
  });
});
