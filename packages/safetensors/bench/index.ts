// Read throughput of openCheckpoint on a 200 MB safetensors file (F32, and BF16 converted to
// float32) as a ratio to raw fs reads of the same file in the same run. Prints JSON lines.
// Files are written under os.tmpdir() and deleted at the end.
import { open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCheckpoint, type TensorEntry, writeSafetensors } from '../src/index.js';

const FILE_BYTES = 200 * 2 ** 20;
const TENSOR_BYTES = 4 * 2 ** 20; // 50 tensors of 4 MiB, like the layers of a small model
const RAW_CHUNK = 16 * 2 ** 20;
const REPEATS = 5;

function makeTensors(dtype: 'F32' | 'BF16'): Map<string, TensorEntry> {
  const tensors = new Map<string, TensorEntry>();
  const elementBytes = dtype === 'F32' ? 4 : 2;
  const count = TENSOR_BYTES / elementBytes;
  for (let i = 0; i < FILE_BYTES / TENSOR_BYTES; i++) {
    const data = dtype === 'F32' ? new Float32Array(count) : new Uint16Array(count);
    for (let j = 0; j < count; j++)
      data[j] = dtype === 'F32' ? Math.sin(i + j) : (i * 7919 + j) & 0x7f7f;
    tensors.set(`layers.${i}.weight`, { dtype, shape: [count / 1024, 1024], data });
  }
  return tensors;
}

async function rawRead(file: string): Promise<number> {
  const handle = await open(file, 'r');
  const buffer = new Uint8Array(RAW_CHUNK);
  let total = 0;
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, RAW_CHUNK, total);
      if (bytesRead === 0) return total;
      total += bytesRead;
    }
  } finally {
    await handle.close();
  }
}

/** Raw reads of each tensor's byte range into a fresh buffer: what any reader returning new
 * arrays must at least pay (fresh memory is page-faulted in). */
async function rawReadFresh(file: string): Promise<number> {
  const handle = await open(file, 'r');
  const { size } = await handle.stat();
  let total = 0;
  try {
    while (total < size) {
      const buffer = new Uint8Array(Math.min(TENSOR_BYTES, size - total));
      const { bytesRead } = await handle.read(buffer, 0, buffer.byteLength, total);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
    return total;
  } finally {
    await handle.close();
  }
}

async function checkpointRead(file: string, asFloat32: boolean): Promise<number> {
  const ckpt = await openCheckpoint(file);
  let elements = 0;
  try {
    for (const name of ckpt.names()) {
      const data = await ckpt.read(name, asFloat32 ? { as: 'float32' } : {});
      elements += data.length;
    }
  } finally {
    await ckpt.close();
  }
  return elements;
}

interface Timing {
  /** Fastest wall-clock seconds over the repeats. */
  wall: number;
  /** Fastest CPU seconds (user + system) over the repeats: steadier on a shared machine. */
  cpu: number;
}

async function best(run: () => Promise<unknown>): Promise<Timing> {
  const timing = { wall: Number.POSITIVE_INFINITY, cpu: Number.POSITIVE_INFINITY };
  for (let i = 0; i < REPEATS; i++) {
    const start = process.hrtime.bigint();
    const cpuStart = process.cpuUsage();
    await run();
    const cpu = process.cpuUsage(cpuStart);
    timing.wall = Math.min(timing.wall, Number(process.hrtime.bigint() - start) / 1e9);
    timing.cpu = Math.min(timing.cpu, (cpu.user + cpu.system) / 1e6);
  }
  return timing;
}

const round3 = (x: number) => Number(x.toFixed(3));

/**
 * ArrayBuffer bytes allocated while reading one tensor as float32, per byte of the result:
 * about 1 means no scratch copies (the lazy-read memory claim).
 */
async function allocationPerResultByte(file: string): Promise<number> {
  const ckpt = await openCheckpoint(file);
  try {
    const name = ckpt.names()[0]!;
    const before = process.memoryUsage().arrayBuffers;
    const data = await ckpt.read(name, { as: 'float32' });
    return (process.memoryUsage().arrayBuffers - before) / data.byteLength;
  } finally {
    await ckpt.close();
  }
}

async function main(): Promise<void> {
  const dir = tmpdir();
  const files = {
    F32: join(dir, `remax-bench-f32-${process.pid}.safetensors`),
    BF16: join(dir, `remax-bench-bf16-${process.pid}.safetensors`),
  };
  try {
    for (const dtype of ['F32', 'BF16'] as const) {
      const file = files[dtype];
      await writeSafetensors(file, makeTensors(dtype));
      await rawRead(file); // warm the page cache so both sides read from memory
      const raw = await best(() => rawRead(file));
      const fresh = await best(() => rawReadFresh(file));
      const ours = await best(() => checkpointRead(file, true));
      const allocation = await allocationPerResultByte(file);
      const mb = FILE_BYTES / 2 ** 20;
      console.log(
        JSON.stringify({
          bench: 'safetensors.read',
          case: dtype === 'F32' ? 'F32' : 'BF16->F32',
          fileMB: mb,
          MBps: Math.round(mb / ours.wall),
          rawMBps: Math.round(mb / raw.wall),
          // ratio: against raw fs.read of the whole file into one reused 16 MiB buffer.
          ratio: round3(raw.wall / ours.wall),
          cpuRatio: round3(raw.cpu / ours.cpu),
          rawFreshMBps: Math.round(mb / fresh.wall),
          // against raw fs.read of each tensor's bytes into a fresh buffer.
          ratioVsFreshBuffers: round3(fresh.wall / ours.wall),
          cpuRatioVsFreshBuffers: round3(fresh.cpu / ours.cpu),
          goal: dtype === 'F32' ? 0.8 : 0.5,
          allocatedPerResultByte: round3(allocation),
        }),
      );
    }
  } finally {
    await Promise.all(Object.values(files).map((f) => rm(f, { force: true })));
  }
}

await main();
