// A hand-written WebAssembly SIMD kernel for bf16 -> float32 (about 5x the JS loop: one 16-byte
// load and two shuffles per 8 values). Inline bytes, no build step:
//
// (module
//   (import "env" "memory" (memory 0))
//   (func (export "widen") (param $src i32) (param $dst i32) (param $end i32)
//     (local $v v128)
//     (block $done (loop $next
//       (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
//       (local.set $v (v128.load (local.get $src)))
//       ;; float32 k = bf16 k in the high half, zeros below: interleave zero pairs with v
//       (v128.store (local.get $dst)
//         (i8x16.shuffle 0 1 16 17 2 3 18 19 4 5 20 21 6 7 22 23 (v128.const i64x2 0 0) (local.get $v)))
//       (v128.store offset=16 (local.get $dst)
//         (i8x16.shuffle 8 9 24 25 10 11 26 27 12 13 28 29 14 15 30 31 (v128.const i64x2 0 0) (local.get $v)))
//       (local.set $src (i32.add (local.get $src) (i32.const 16)))
//       (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
//       (br $next))))
// biome-ignore format: one line per section
const MODULE_BYTES = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  1, 7, 1, 0x60, 3, 0x7f, 0x7f, 0x7f, 0, // type: (i32, i32, i32) -> ()
  2, 15, 1, 3, 101, 110, 118, 6, 109, 101, 109, 111, 114, 121, 2, 0, 0, // import env.memory min 0
  3, 2, 1, 0, // function 0 has type 0
  7, 9, 1, 5, 119, 105, 100, 101, 110, 0, 0, // export "widen" = function 0
  10, 132, 1, 1, 129, 1, 1, 1, 0x7b, // code: 1 body, 1 local v128
  0x02, 0x40, 0x03, 0x40, // block, loop
  0x20, 0, 0x20, 2, 0x4f, 0x0d, 1, // br_if 1 (src >= end)
  0x20, 0, 0xfd, 0, 4, 0, 0x21, 3, // v = v128.load src
  0x20, 1, 0xfd, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20, 3, // dst, zero, v
  0xfd, 13, 0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23, 0xfd, 11, 4, 0, // shuffle, store
  0x20, 1, 0xfd, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20, 3, // dst, zero, v
  0xfd, 13, 8, 9, 24, 25, 10, 11, 26, 27, 12, 13, 28, 29, 14, 15, 30, 31, 0xfd, 11, 4, 16, // store+16
  0x20, 0, 0x41, 16, 0x6a, 0x21, 0, // src += 16
  0x20, 1, 0x41, 32, 0x6a, 0x21, 1, // dst += 32
  0x0c, 0, 0x0b, 0x0b, 0x0b, // br loop, end loop, end block, end function
]);

/** The part of the WebAssembly API used here (absent under `node --jitless`). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number }) => { buffer: ArrayBuffer };
}

const PAGE_BYTES = 65536;

let compiled: object | null | undefined;

function kernelModule(): object | null {
  if (compiled === undefined) {
    const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
    try {
      compiled = api === undefined ? null : new api.Module(MODULE_BYTES);
    } catch {
      compiled = null; // no SIMD support: callers use the JS loop
    }
  }
  return compiled;
}

/** A wasm memory of at least `bytes` and the kernel over it, or undefined without wasm SIMD. */
export interface SimdWidener {
  /** The wasm memory: callers place bf16 input and float32 output in it. */
  readonly buffer: ArrayBuffer;
  /** float32 bits of the bf16 values at bytes [src, src + 16k) written from byte `dst` on. */
  widen(src: number, dst: number, end: number): void;
}

export function createSimdWidener(bytes: number): SimdWidener | undefined {
  const module = kernelModule();
  if (module === null) return undefined;
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly!;
  try {
    const memory = new api.Memory({ initial: Math.ceil(bytes / PAGE_BYTES) });
    const { exports } = new api.Instance(module, { env: { memory } });
    const widen = exports.widen as (src: number, dst: number, end: number) => void;
    return { buffer: memory.buffer, widen };
  } catch {
    return undefined; // e.g. address space for another wasm memory refused: use the JS loop
  }
}
