import { describe, expect, it } from 'vitest';
import {
  bf16BitsToFloat32,
  bf16ToFloat32Array,
  f16BitsToFloat32,
  f16ToFloat32Array,
  float32BitsToBf16Bits,
  float32BitsToF16Bits,
  float32ToBf16Array,
  float32ToBf16Bits,
  float32ToF16Array,
  float32ToF16Bits,
} from '../src/halfFloat.js';

// Expected bit patterns are IEEE 754 facts (numpy.float16 / torch.bfloat16 agree on them).
describe('bfloat16', () => {
  it.each([
    [1, 0x3f80],
    [-2, 0xc000],
    [0, 0x0000],
    [-0, 0x8000],
    [Number.POSITIVE_INFINITY, 0x7f80],
    [Number.NEGATIVE_INFINITY, 0xff80],
    [Number.NaN, 0x7fc0],
    [3.140625, 0x4049],
  ])('float32 %d -> %i', (value, bits) => {
    expect(float32ToBf16Bits(value)).toBe(bits);
  });

  it.each([
    [0x3f808000, 0x3f80, 'tie rounds to even (down)'],
    [0x3f818000, 0x3f82, 'tie rounds to even (up)'],
    [0x3f808001, 0x3f81, 'above half rounds up'],
    [0x3f807fff, 0x3f80, 'below half rounds down'],
    [0x7f7fffff, 0x7f80, 'max float32 overflows to Inf'],
    [0x7f800001, 0x7fc0, 'NaN with a low payload stays NaN'],
    [0xffc00001, 0xffc0, 'negative NaN stays negative NaN'],
    [0x00000001, 0x0000, 'smallest subnormal rounds to zero'],
  ])('float32 bits 0x%s -> %i (%s)', (bits, expected) => {
    expect(float32BitsToBf16Bits(bits)).toBe(expected);
  });

  it('decodes every pattern exactly and round-trips it', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const f32 = new Float32Array(65536);
    bf16ToFloat32Array(all, f32);
    const back = new Uint16Array(65536);
    float32ToBf16Array(f32, back);
    for (let h = 0; h < 65536; h++) {
      const isNaNPattern = (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;
      if (isNaNPattern) {
        if (!Number.isNaN(f32[h]!)) throw new Error(`0x${h.toString(16)} lost NaN`);
        if (back[h] !== h) throw new Error(`NaN 0x${h.toString(16)} changed`);
      } else if (back[h] !== h || !Object.is(f32[h], bf16BitsToFloat32(h))) {
        throw new Error(`0x${h.toString(16)} round-trips to 0x${back[h]!.toString(16)}`);
      }
    }
  });
});

describe('float16', () => {
  it.each([
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff],
    [65519, 0x7bff],
    [65520, 0x7c00], // halfway to 65536: ties to even = Inf
    [2 ** -24, 0x0001],
    [2 ** -25, 0x0000], // halfway between 0 and the smallest subnormal: ties to even
    [3 * 2 ** -25, 0x0002],
    [2 ** -14, 0x0400],
    [1 / 3, 0x3555],
    [0.1, 0x2e66],
    [-0, 0x8000],
    [Number.POSITIVE_INFINITY, 0x7c00],
    [Number.NEGATIVE_INFINITY, 0xfc00],
    [Number.NaN, 0x7e00],
    [1e-10, 0x0000],
  ])('float32 %d -> %i', (value, bits) => {
    expect(float32ToF16Bits(value)).toBe(bits);
  });

  it.each([
    [0x3f801000, 0x3c00, 'tie rounds to even (down)'],
    [0x3f803000, 0x3c02, 'tie rounds to even (up)'],
    [0x33000001, 0x0001, 'just above half the smallest subnormal'],
    [0x7f800001, 0x7e00, 'NaN with a low payload stays NaN'],
    [0x387fe000, 0x0400, 'subnormal rounding carries into the smallest normal'],
  ])('float32 bits 0x%s -> %i (%s)', (bits, expected) => {
    expect(float32BitsToF16Bits(bits)).toBe(expected);
  });

  it.each([
    [0x0001, 2 ** -24],
    [0x03ff, 1023 * 2 ** -24],
    [0x7bff, 65504],
    [0xfc00, Number.NEGATIVE_INFINITY],
    [0x3555, 0.333251953125],
    [0x8000, -0],
  ])('%i -> %d', (bits, value) => {
    expect(Object.is(f16BitsToFloat32(bits), value)).toBe(true);
  });

  it('the bulk table equals the scalar decoder and every pattern round-trips', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const f32 = new Float32Array(65536);
    f16ToFloat32Array(all, f32);
    const back = new Uint16Array(65536);
    float32ToF16Array(f32, back);
    for (let h = 0; h < 65536; h++) {
      const isNaNPattern = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      if (isNaNPattern) {
        if (!Number.isNaN(f32[h]!) || back[h] !== h)
          throw new Error(`NaN 0x${h.toString(16)} changed`);
      } else if (back[h] !== h || !Object.is(f32[h], f16BitsToFloat32(h))) {
        throw new Error(`0x${h.toString(16)} round-trips to 0x${back[h]!.toString(16)}`);
      }
    }
  });
});
