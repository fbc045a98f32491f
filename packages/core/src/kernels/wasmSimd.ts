// A hand-assembled WebAssembly SIMD kernel that runs on the tfjs wasm
// backend's own memory (imported, so tensors are read and written in place,
// no copies). Why not a JS loop: JS has no float32 arithmetic, so matching
// float32 tensor ops bit for bit costs a Math.fround per operation (~2x a
// float64 loop), while f32x4 does four float32 operations per instruction.
// The bytes are built here (a few dozen instructions), so no toolchain or
// binary blob is needed; WebAssembly.validate checks them at first use.
import { tf } from '../tf.js';

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;

const op = {
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
  // align hint 2^2 (tensors are 4-byte aligned), offset 0
  load: [0xfd, 0x00, 2, 0],
  store: [0xfd, 0x0b, 2, 0],
  splat: [0xfd, 0x13],
  sqrt: [0xfd, ...uleb(0xe3)],
  add: [0xfd, ...uleb(0xe4)],
  sub: [0xfd, ...uleb(0xe5)],
  mul: [0xfd, ...uleb(0xe6)],
  div: [0xfd, ...uleb(0xe7)],
};

function uleb(v: number): number[] {
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

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const name = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s, 'utf8')];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

// adamw(p, g, m, v, out, groups, decay, 1-b1, b2, 1-b2, sqrt(1-b2^t), eps, stepSize, gradScale):
// `groups` runs of 4 floats from byte addresses p, g, m, v (m, v updated in place), out.
const P = 0;
const G = 1;
const M = 2;
const V = 3;
const OUT = 4;
const COUNT = 5;
const SCALAR0 = 6; // 8 f32 scalars: params 6..13, their splats locals 14..21
const SPLAT0 = 14;
const [S_DECAY, S_B1, S_B2, S_B2M, S_BIAS2, S_EPS, S_STEP, S_SCALE] = [0, 1, 2, 3, 4, 5, 6, 7].map(
  (k) => SPLAT0 + k,
) as [number, number, number, number, number, number, number, number];
const [L_G, L_M, L_V] = [22, 23, 24];

function adamwBody(): number[] {
  const code: number[][] = [];
  for (let k = 0; k < 8; k++) code.push(op.get(SCALAR0 + k), op.splat, op.set(SPLAT0 + k));
  code.push(op.block, op.get(COUNT), op.i32Eqz, op.brIf(0), op.loop);
  // g' = g * scale
  code.push(op.get(G), op.load, op.get(S_SCALE), op.mul, op.set(L_G));
  // m1 = m + (g' - m) * (1 - b1)
  code.push(op.get(M), op.load, op.set(L_M));
  code.push(op.get(L_M), op.get(L_G), op.get(L_M), op.sub, op.get(S_B1), op.mul, op.add);
  code.push(op.set(L_M), op.get(M), op.get(L_M), op.store);
  // v1 = v * b2 + (g' * g') * (1 - b2)
  code.push(op.get(V), op.load, op.get(S_B2), op.mul);
  code.push(op.get(L_G), op.get(L_G), op.mul, op.get(S_B2M), op.mul, op.add);
  code.push(op.set(L_V), op.get(V), op.get(L_V), op.store);
  // out = p * decay - (m1 / (sqrt(v1) / bias2 + eps)) * stepSize
  code.push(op.get(OUT), op.get(P), op.load, op.get(S_DECAY), op.mul);
  code.push(op.get(L_M), op.get(L_V), op.sqrt, op.get(S_BIAS2), op.div, op.get(S_EPS), op.add);
  code.push(op.div, op.get(S_STEP), op.mul, op.sub, op.store);
  // next 16 bytes of every array
  for (const ptr of [P, G, M, V, OUT]) {
    code.push(op.get(ptr), op.i32Const(16), op.i32Add, op.set(ptr));
  }
  code.push(op.get(COUNT), op.i32Const(1), op.i32Sub, op.tee(COUNT), op.brIf(0));
  code.push(op.end, op.end, op.end);
  const locals = vec([[11, V128]]);
  const body = [...locals, ...code.flat()];
  return [...uleb(body.length), ...body];
}

/** The module's bytes; `shared` must match the imported memory (threaded builds share it). */
export function adamwModuleBytes(shared: boolean): Uint8Array {
  const params = [I32, I32, I32, I32, I32, I32, F32, F32, F32, F32, F32, F32, F32, F32];
  const type = [0x60, ...uleb(params.length), ...params, 0];
  // shared memories must declare a maximum: the wasm32 limit, 65536 pages
  const limits = shared ? [0x03, 1, ...uleb(65536)] : [0x00, 1];
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([type])),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, ...limits]])),
    ...section(3, vec([[0]])),
    ...section(7, vec([[...name('adamw'), 0x00, 0]])),
    ...section(10, vec([adamwBody()])),
  ];
  return Uint8Array.from(bytes);
}

export type AdamWSimd = (
  p: number,
  g: number,
  m: number,
  v: number,
  out: number,
  groups: number,
  decay: number,
  oneMinusB1: number,
  b2: number,
  oneMinusB2: number,
  bias2Sqrt: number,
  eps: number,
  stepSize: number,
  gradScale: number,
) => void;

// The slice of the WebAssembly JS API used here (the project's lib settings do not declare it).
interface WasmMemory {
  readonly buffer: ArrayBufferLike;
}
interface WasmApi {
  Memory: abstract new (...args: never[]) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  validate(bytes: Uint8Array): boolean;
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface EmscriptenLike {
  wasmMemory?: unknown;
  asm?: { memory?: unknown };
}

const instances = new WeakMap<WasmMemory, AdamWSimd | null>();

/**
 * The kernel bound to the running wasm backend's memory, or null when the
 * backend is not wasm, its memory is not reachable, or this engine lacks SIMD.
 */
export function wasmAdamW(): AdamWSimd | null {
  if (tf.getBackend() !== 'wasm') return null;
  const module = (tf.backend() as unknown as { wasm?: EmscriptenLike }).wasm;
  const memory = module?.wasmMemory ?? module?.asm?.memory;
  if (!(memory instanceof WA.Memory)) return null;
  let fn = instances.get(memory);
  if (fn === undefined) {
    fn = null;
    const bytes = adamwModuleBytes(memory.buffer instanceof SharedArrayBuffer);
    if (WA.validate(bytes)) {
      const instance = new WA.Instance(new WA.Module(bytes), {
        env: { memory },
      });
      fn = instance.exports['adamw'] as AdamWSimd;
    }
    instances.set(memory, fn);
  }
  return fn;
}
