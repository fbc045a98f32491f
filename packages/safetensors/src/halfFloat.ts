// Conversions between float32 and the two 16-bit float formats (bfloat16, IEEE float16).
// Writes round to nearest, ties to even; ±Inf stays ±Inf and NaN stays NaN: the sign and the
// top payload bits are kept (so 16-bit NaNs round-trip exactly through float32), and a payload
// that would truncate to zero becomes the quiet bit, never Inf.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** bfloat16 bits -> float32 value (exact: bf16 is the top half of a float32). */
export function bf16BitsToFloat32(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0]!;
}

/** float32 bits -> bfloat16 bits, round to nearest even. */
export function float32BitsToBf16Bits(x: number): number {
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x007fffff) !== 0) {
    const truncated = x >>> 16;
    return (truncated & 0x7f) === 0 ? truncated | 0x40 : truncated;
  }
  const bias = 0x7fff + ((x >>> 16) & 1);
  return ((x >>> 0) + bias) >>> 16;
}

export function float32ToBf16Bits(value: number): number {
  f32[0] = value;
  return float32BitsToBf16Bits(u32[0]!);
}

/** float32 bits -> float16 bits, round to nearest even (overflow -> Inf, underflow -> ±0). */
export function float32BitsToF16Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) {
    if (mant === 0) return sign | 0x7c00;
    const payload = mant >>> 13;
    return sign | 0x7c00 | (payload === 0 ? 0x200 : payload);
  }
  const halfExp = exp - 127 + 15;
  if (halfExp >= 0x1f) return sign | 0x7c00;
  if (halfExp <= 0) {
    // Subnormal half: value = m_h * 2^-24, so m_h = significand >> (14 - halfExp).
    if (halfExp < -10) return sign;
    const significand = mant | 0x800000;
    const shift = 14 - halfExp;
    let result = significand >>> shift;
    const rest = significand & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rest > half || (rest === half && (result & 1) === 1)) result += 1;
    return sign | result;
  }
  let result = (halfExp << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // A carry out of the mantissa bumps the exponent, up to Inf: exactly what rounding wants.
  if (rest > 0x1000 || (rest === 0x1000 && (result & 1) === 1)) result += 1;
  return sign | result;
}

export function float32ToF16Bits(value: number): number {
  f32[0] = value;
  return float32BitsToF16Bits(u32[0]!);
}

/** float16 bits -> float32 value (exact). */
export function f16BitsToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

let f16Table: Uint32Array | undefined;

/**
 * The float32 bit patterns of all 65536 float16 values (256 KB, built once): bulk conversion
 * is one integer lookup. Integer lanes matter: moving a float through a JS number may quiet a
 * signaling NaN, changing its bits.
 */
export function f16ToFloat32BitsTable(): Uint32Array {
  if (f16Table === undefined) {
    const bits = new Uint32Array(65536);
    const values = new Float32Array(bits.buffer);
    for (let h = 0; h < 65536; h++) {
      if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) {
        // NaN: same sign and payload, widened (the arithmetic path would give a canonical NaN).
        bits[h] = ((h & 0x8000) << 16) | 0x7f800000 | ((h & 0x3ff) << 13);
      } else {
        values[h] = f16BitsToFloat32(h);
      }
    }
    f16Table = bits;
  }
  return f16Table;
}

export function bf16ToFloat32Array(src: Uint16Array, dst: Float32Array, dstOffset = 0): void {
  const out = new Uint32Array(dst.buffer, dst.byteOffset + dstOffset * 4, src.length);
  if (src.byteOffset % 4 !== 0) {
    for (let i = 0; i < src.length; i++) out[i] = src[i]! << 16;
    return;
  }
  // Two bf16 values per 32-bit load (about 1.5x faster than one per load). Little-endian: the
  // low half is element 2k, the high half element 2k + 1.
  const pairs = new Uint32Array(src.buffer, src.byteOffset, src.length >> 1);
  for (let k = 0; k < pairs.length; k++) {
    const w = pairs[k]!;
    out[2 * k] = w << 16;
    out[2 * k + 1] = w & 0xffff0000;
  }
  if (src.length % 2 === 1) out[src.length - 1] = src[src.length - 1]! << 16;
}

export function f16ToFloat32Array(src: Uint16Array, dst: Float32Array, dstOffset = 0): void {
  const table = f16ToFloat32BitsTable();
  const out = new Uint32Array(dst.buffer, dst.byteOffset + dstOffset * 4, src.length);
  for (let i = 0; i < src.length; i++) out[i] = table[src[i]!]!;
}

export function float32ToBf16Array(src: Float32Array, dst: Uint16Array): void {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) dst[i] = float32BitsToBf16Bits(bits[i]!);
}

export function float32ToF16Array(src: Float32Array, dst: Uint16Array): void {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) dst[i] = float32BitsToF16Bits(bits[i]!);
}
