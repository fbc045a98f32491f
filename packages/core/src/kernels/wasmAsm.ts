// A minimal WebAssembly binary encoder for the SIMD kernels in wasmKernels.ts:
// the opcodes they use, LEB128, and a module of functions that import one
// memory. Hand-assembled so that no toolchain or binary blob is needed; the
// bytes are checked by WebAssembly.validate before use.

export const I32 = 0x7f;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;

export function uleb(v: number): number[] {
  const out: number[] = [];
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}

function sleb(v: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const simd = (code: number, ...imm: number[]) => [0xfd, ...uleb(code), ...imm];

/** f64x2 constant (both lanes `c`). */
function f64x2Const(c: number): number[] {
  const b = new Uint8Array(16);
  const view = new DataView(b.buffer);
  view.setFloat64(0, c, true);
  view.setFloat64(8, c, true);
  return simd(0x0c, ...b);
}

/** f32x4 constant (all lanes `c`). */
function f32x4Const(c: number): number[] {
  const b = new Uint8Array(16);
  const view = new DataView(b.buffer);
  for (let i = 0; i < 4; i++) view.setFloat32(4 * i, c, true);
  return simd(0x0c, ...b);
}

/** i64x2 constant (both lanes `c`, a small integer). */
function i64x2Const(c: number): number[] {
  const b = new Uint8Array(16);
  const view = new DataView(b.buffer);
  view.setBigInt64(0, BigInt(c), true);
  view.setBigInt64(8, BigInt(c), true);
  return simd(0x0c, ...b);
}

// memarg: align hint 2^2 (tensors are 4-byte aligned), offset 0
export const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  brIf: (depth: number) => [0x0d, depth],
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  tee: (i: number) => [0x22, ...uleb(i)],
  i32Const: (v: number) => [0x41, ...sleb(v)],
  i32Eqz: [0x45],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  f64Add: [0xa0],
  f32Max: [0x97],
  f32Min: [0x96],
  // scalar ops of the sampling kernels (memargs: natural alignment, offset 0)
  ifVoid: [0x04, 0x40],
  else: [0x05],
  i32Load: [0x28, 2, 0],
  i32Store: [0x36, 2, 0],
  f32Load: [0x2a, 2, 0],
  f64Load: [0x2b, 3, 0],
  f64Store: [0x39, 3, 0],
  i32Shl: [0x74],
  i32LeS: [0x4c],
  f64Lt: [0x63],
  f64ConvertI32S: [0xb7],
  i32TruncSatF64S: [0xfc, 0x02],
  i32LtS: [0x48],
  select: [0x1b],
  i32And: [0x71],
  f64Const: (c: number) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, c, true);
    return [0x44, ...b];
  },
  f64Eq: [0x61],
  f64Sub: [0xa1],
  f64Mul: [0xa2],
  f64Div: [0xa3],
  f64Min: [0xa4],
  f64Floor: [0x9c],
  f64PromoteF32: [0xbb],
  i32TruncF64S: [0xaa],
  f32x4Gt: simd(0x44),
  f32x4Pmin: simd(0xea),
  f32x4Max: simd(0xe9),
  f64x2Lt: simd(0x49),
  f64x2Div: simd(0xf3),
  v128AndNot: simd(0x4f),
  v128Bitselect: simd(0x52),
  load: simd(0x00, 2, 0),
  load64Splat: simd(0x0a, 2, 0),
  store: simd(0x0b, 2, 0),
  store64Lane0: simd(0x5b, 2, 0, 0),
  f32x4Splat: simd(0x13),
  f32x4Lane: (lane: number) => simd(0x1f, lane),
  f32x4Pmax: simd(0xeb),
  f64x2Splat: simd(0x14),
  f64x2Lane: (lane: number) => simd(0x21, lane),
  f32x4DemoteF64x2: simd(0x5e),
  f64x2PromoteF32x4: simd(0x5f),
  f32x4Sqrt: simd(0xe3),
  f32x4Add: simd(0xe4),
  f32x4Sub: simd(0xe5),
  f32x4Mul: simd(0xe6),
  f32x4Div: simd(0xe7),
  f64x2Nearest: simd(0x94),
  i64x2ExtendLowI32x4: simd(0xc7),
  i64x2Shl: simd(0xcb),
  i64x2Add: simd(0xce),
  f64x2Add: simd(0xf0),
  f64x2Sub: simd(0xf1),
  f64x2Mul: simd(0xf2),
  f64x2Max: simd(0xf5),
  f64x2Pmax: simd(0xf7),
  f64x2Floor: simd(0x75),
  i32x4MinS: simd(0xb6),
  i32x4Eq: simd(0x37),
  i32x4LeS: simd(0x3d),
  v128And: simd(0x4e),
  v128AnyTrue: simd(0x53),
  i32Eq: [0x46],
  i32Store4: [0x36, 2, 0],
  i32x4Splat: simd(0x11),
  i32x4Lane: (lane: number) => simd(0x1b, lane),
  /** i8x16.shuffle with the 16 byte indices (0-31 over both operands). */
  i8x16Shuffle: (lanes: number[]) => simd(0x0d, ...lanes),
  i32x4TruncSatF64x2Zero: simd(0xfc),
  f32x4Const,
  f64x2Const,
  i64x2Const,
};

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const name = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s, 'utf8')];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

export interface WasmFunction {
  name: string;
  params: number[];
  results: number[];
  /** Scalar locals after the parameters (their types), then `v128Locals` v128 ones. */
  locals?: number[];
  /** Extra v128 locals, after `locals`. */
  v128Locals: number;
  code: number[][];
}

/** A module of exported functions importing `env.memory` (shared for threaded builds). */
export function moduleBytes(functions: WasmFunction[], sharedMemory: boolean): Uint8Array {
  const types = functions.map((f) => [
    0x60,
    ...vec(f.params.map((p) => [p])),
    ...vec(f.results.map((r) => [r])),
  ]);
  // shared memories must declare a maximum: the wasm32 limit, 65536 pages
  const limits = sharedMemory ? [0x03, 1, ...uleb(65536)] : [0x00, 1];
  const bodies = functions.map((f) => {
    const groups = (f.locals ?? []).map((t) => [1, t]);
    if (f.v128Locals > 0) groups.push([f.v128Locals, V128]);
    const body = [...vec(groups), ...f.code.flat(), 0x0b];
    return [...uleb(body.length), ...body];
  });
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, ...limits]])),
    ...section(3, vec(functions.map((_, i) => [i]))),
    ...section(7, vec(functions.map((f, i) => [...name(f.name), 0x00, i]))),
    ...section(10, vec(bodies)),
  ]);
}

// The slice of the WebAssembly JS API used by the kernels (the project's lib settings do not declare it).
export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
}
interface WasmApi {
  Memory: new (descriptor: { initial: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  validate(bytes: Uint8Array): boolean;
}
export const WA = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
