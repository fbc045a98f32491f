import { join } from 'node:path';
import { isRemaxError } from '@remax/core';
import { describe, expect, it } from 'vitest';
import { openCheckpoint } from '../src/index.js';
import { fixtureModel } from './paths.js';

const ultrarm = fixtureModel('tiny-ultrarm');
const mistral = fixtureModel('tiny-mistral');

function bytesOf(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

describe('openCheckpoint', () => {
  it.each([
    ['tiny-ultrarm', 64],
    ['unseen-ultrarm', 48], // torch.save of torch 2.11
  ])('reads the %s .bin shards bitwise equal to its model.safetensors', async (name, hidden) => {
    const ultrarm = fixtureModel(name);
    const bin = await openCheckpoint(join(ultrarm, 'pytorch_model.bin.index.json'));
    const st = await openCheckpoint(join(ultrarm, 'model.safetensors'));
    try {
      expect([...bin.names()].sort()).toEqual([...st.names()].sort());
      expect(bin.names()).toContain('regression_head.weight');
      for (const name of st.names()) {
        expect(bin.info(name)).toEqual(st.info(name));
        const a = await bin.read(name);
        const b = await st.read(name);
        expect(a).toBeInstanceOf(Float32Array);
        expect(bytesOf(a).equals(bytesOf(b))).toBe(true);
      }
      expect(bin.info('regression_head.weight')).toEqual({ dtype: 'F32', shape: [1, hidden] });
    } finally {
      await bin.close();
      await st.close();
    }
  });

  it('a folder with both formats opens the safetensors file', async () => {
    const ckpt = await openCheckpoint(ultrarm);
    try {
      expect(ckpt.path).toBe(ultrarm);
      expect(ckpt.info('model.embed_tokens.weight')).toEqual({ dtype: 'F32', shape: [32000, 64] });
    } finally {
      await ckpt.close();
    }
  });

  it('reads a sharded bf16 safetensors folder, raw and as float32', async () => {
    const ckpt = await openCheckpoint(mistral);
    try {
      expect(ckpt.names()).toContain('lm_head.weight');
      expect(ckpt.names()).toContain('model.layers.1.mlp.down_proj.weight');
      const info = ckpt.info('model.layers.1.mlp.down_proj.weight');
      expect(info).toEqual({ dtype: 'BF16', shape: [64, 160] });
      const raw = await ckpt.read('model.layers.1.mlp.down_proj.weight');
      const f32 = await ckpt.read('model.layers.1.mlp.down_proj.weight', { as: 'float32' });
      expect(raw).toBeInstanceOf(Uint16Array);
      expect(f32).toBeInstanceOf(Float32Array);
      expect(f32.length).toBe(64 * 160);
      // bf16 -> f32 is exact: the float32's top half is the bf16 pattern, bottom half zero.
      const bits = new Uint32Array((f32 as Float32Array).buffer);
      const expected = Uint32Array.from(raw as Uint16Array, (b) => b * 65536);
      expect(bits).toEqual(expected);
    } finally {
      await ckpt.close();
    }
  });

  it('names an unknown tensor and refuses reads after close', async () => {
    const ckpt = await openCheckpoint(mistral);
    expect(() => ckpt.info('nope')).toThrow(/nope/);
    await ckpt.close();
    await expect(ckpt.read('lm_head.weight')).rejects.toSatisfy((e) => isRemaxError(e, 'E_STATE'));
  });
});
