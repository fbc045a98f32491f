// Read throughput of openCheckpoint on a 200 MB safetensors file (F32, and BF16 converted to
// float32) as a ratio to raw fs reads of the same file in the same run. Prints JSON lines.
// Files are written under os.tmpdir() and deleted at the end.
import { execFileSync } from 'node:child_process';
import { open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openCheckpoint, type TensorEntry, writeSafetensors } from '../src/index.js';
import { openSafetensorsFile } from '../src/safetensorsFile.js';

const FILE_BYTES = 200 * 2 ** 20;
const TENSOR_BYTES = 4 * 2 ** 20; // 50 tensors of 4 MiB, like the layers of a small model
const RAW_CHUNK = 16 * 2 ** 20;
const REPEATS = 7;

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

/** Each tensor's absolute byte range in the file, from its header. */
async function tensorRanges(file: string): Promise<[number, number][]> {
  const source = await openSafetensorsFile(file);
  await source.close();
  const { dataStart, tensors } = source.header;
  return [...tensors.values()].map((t) => [dataStart + t.begin, t.end - t.begin]);
}

/** Raw baseline, reused memory: the whole file in 16 MiB reads into one buffer (fewer, larger
 * reads than one per tensor: a stricter baseline than any per-tensor reader can match). */
async function rawReadWhole(file: string, buffer: Uint8Array): Promise<number> {
  const handle = await open(file, 'r');
  let total = 0;
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.byteLength, total);
      if (bytesRead === 0) return total;
      total += bytesRead;
    }
  } finally {
    await handle.close();
  }
}

/** Raw baseline: each tensor's byte range into a new buffer (what a loader that keeps the bytes
 * does; fresh memory is page-faulted in), or into one reused buffer (like-for-like with
 * `read(name, {into})`). */
async function rawReadRanges(
  file: string,
  ranges: [number, number][],
  reused?: Uint8Array,
  afterRead?: (buffer: Uint8Array) => void,
): Promise<number> {
  const handle = await open(file, 'r');
  let total = 0;
  try {
    for (const [position, length] of ranges) {
      const buffer = reused?.subarray(0, length) ?? new Uint8Array(length);
      for (let done = 0; done < length; ) {
        const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
        if (bytesRead === 0) throw new Error('file shrank');
        done += bytesRead;
      }
      afterRead?.(buffer);
      total += length;
    }
    return total;
  } finally {
    await handle.close();
  }
}

/** openCheckpoint + read(name, {as: 'float32'}) of every tensor, into new arrays or `into`. */
async function checkpointRead(
  file: string,
  into?: Float32Array,
  afterRead?: (data: ArrayBufferView) => void,
): Promise<number> {
  const ckpt = await openCheckpoint(file);
  let elements = 0;
  try {
    for (const name of ckpt.names()) {
      const count = ckpt.info(name).shape.reduce((a, b) => a * b, 1);
      const options = into === undefined ? {} : { into: into.subarray(0, count) };
      const data = await ckpt.read(name, { as: 'float32', ...options });
      afterRead?.(data);
      elements += data.length;
    }
  } finally {
    await ckpt.close();
  }
  return elements;
}

interface Timing {
  wall: number[];
  cpu: number[];
}

// With --expose-gc (the bench script passes it), garbage is collected before each case's
// untimed warm-up run.
const collectGarbage = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

/**
 * Measures every case REPEATS times, interleaved and in rotating order so that page-cache state
 * and machine load drift fall on all cases alike.
 */
async function rotating<K extends string>(
  names: K[],
  measure: (name: K) => Promise<{ wall: number; cpu: number }>,
): Promise<Record<K, Timing>> {
  const timings = {} as Record<K, Timing>;
  for (const name of names) timings[name] = { wall: [], cpu: [] };
  for (let r = 0; r < REPEATS; r++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(r + i) % names.length]!;
      const { wall, cpu } = await measure(name);
      timings[name].wall.push(wall);
      timings[name].cpu.push(cpu);
    }
  }
  return timings;
}

/**
 * The cases in this process. Each timed run follows an untimed run of the same case: freeing the
 * hundreds of MB a fresh-buffer case leaves behind measurably slows whatever runs next, and this
 * way each case pays for its own garbage (its steady state in a loop), not its neighbour's.
 */
function interleaved<K extends string>(
  cases: Record<K, () => Promise<unknown>>,
): Promise<Record<K, Timing>> {
  return rotating(Object.keys(cases) as K[], async (name) => {
    collectGarbage();
    await cases[name]();
    return timeOnce(cases[name]);
  });
}

/** Times one case in this process: the child side of `inNewProcess`. */
async function timeOnce(run: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  await run();
  const cpu = process.cpuUsage(cpuStart);
  return {
    wall: Number(process.hrtime.bigint() - start) / 1e9,
    cpu: (cpu.user + cpu.system) / 1e6,
  };
}

// A loader keeps what it reads (the tensors become the model), so both cases keep every result:
// nothing is freed for the allocator to hand back, and every result byte is new memory.
const kept: ArrayBufferView[] = [];
const keep = (data: ArrayBufferView) => {
  kept.push(data);
};
const NEW_PROCESS_CASES = {
  rawFresh: async (file: string) => {
    const ranges = await tensorRanges(file);
    return timeOnce(() => rawReadRanges(file, ranges, undefined, keep));
  },
  ours: (file: string) => timeOnce(() => checkpointRead(file, undefined, keep)),
};
type NewProcessCase = keyof typeof NEW_PROCESS_CASES;

/**
 * Runs one case in a new Node process, as a program that loads a checkpoint at startup does,
 * keeping every result: each result byte lands in memory the process has never used. Repeating
 * a case inside one process instead measures how often glibc happens to hand freed blocks back
 * without new page faults (raw fresh-buffer reads then swing between about 80 and 800 ms per
 * 200 MB here).
 */
function inNewProcess(name: NewProcessCase, file: string): { wall: number; cpu: number } {
  const script = fileURLToPath(import.meta.url);
  const out = execFileSync(process.execPath, [...process.execArgv, script, '--one', name, file], {
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').at(-1) ?? '') as { wall: number; cpu: number };
}

/** REPEATS new processes per case, in rotating order. */
function newProcessTimings(file: string): Promise<Record<NewProcessCase, Timing>> {
  return rotating(Object.keys(NEW_PROCESS_CASES) as NewProcessCase[], async (name) =>
    inNewProcess(name, file),
  );
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
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
      const ranges = await tensorRanges(file);
      const rawBuffer = new Uint8Array(RAW_CHUNK);
      const into = new Float32Array(
        Math.max(...ranges.map(([, n]) => n)) / (dtype === 'F32' ? 4 : 2),
      );
      await rawReadWhole(file, rawBuffer); // warm the page cache so every case reads from memory
      const t = await interleaved({
        rawWhole: () => rawReadWhole(file, rawBuffer),
        rawReused: () => rawReadRanges(file, ranges, rawBuffer),
        rawFresh: () => rawReadRanges(file, ranges),
        ours: () => checkpointRead(file),
        oursInto: () => checkpointRead(file, into),
      });
      const wall = (k: keyof typeof t) => median(t[k].wall);
      const cpu = (k: keyof typeof t) => median(t[k].cpu);
      const fresh = await newProcessTimings(file);
      const goal = dtype === 'F32' ? 0.8 : 0.5;
      const mb = FILE_BYTES / 2 ** 20;
      const ratioNewProcess = median(fresh.rawFresh.wall) / median(fresh.ours.wall);
      const ratioVsFreshBuffers = wall('rawFresh') / wall('ours');
      const ratioIntoVsReused = wall('rawReused') / wall('oursInto');
      console.log(
        JSON.stringify({
          bench: 'safetensors.read',
          case: dtype === 'F32' ? 'F32' : 'BF16->F32',
          fileMB: mb,
          repeats: REPEATS,
          // Wall-clock medians; every ratio compares two cases of this run.
          // Each case in a new process (a checkpoint loaded at startup, results kept): read()
          // into new arrays vs raw reads of each tensor into new buffers.
          newProcessMBps: Math.round(mb / median(fresh.ours.wall)),
          newProcessRawMBps: Math.round(mb / median(fresh.rawFresh.wall)),
          ratioNewProcess: round3(ratioNewProcess),
          cpuRatioNewProcess: round3(median(fresh.rawFresh.cpu) / median(fresh.ours.cpu)),
          meetsGoalNewProcess: ratioNewProcess >= goal,
          // The same two cases repeated inside this process:
          MBps: Math.round(mb / wall('ours')),
          rawFreshMBps: Math.round(mb / wall('rawFresh')),
          // read() into new arrays vs raw reads of each tensor into new buffers.
          ratioVsFreshBuffers: round3(ratioVsFreshBuffers),
          intoMBps: Math.round(mb / wall('oursInto')),
          rawReusedMBps: Math.round(mb / wall('rawReused')),
          // read(..., {into}) into one reused array vs raw reads into one reused buffer.
          ratioIntoVsReused: round3(ratioIntoVsReused),
          rawWholeFileMBps: Math.round(mb / wall('rawWhole')),
          // read(..., {into}) vs the whole file in 16 MiB raw reads into one reused buffer.
          ratioIntoVsWholeFile: round3(wall('rawWhole') / wall('oursInto')),
          // read() into new arrays vs the whole-file raw reads (mixed, for reference).
          ratio: round3(wall('rawWhole') / wall('ours')),
          cpuRatioVsFreshBuffers: round3(cpu('rawFresh') / cpu('ours')),
          cpuRatioIntoVsReused: round3(cpu('rawReused') / cpu('oursInto')),
          goal,
          meetsGoalVsFreshBuffers: ratioVsFreshBuffers >= goal,
          meetsGoalIntoVsReused: ratioIntoVsReused >= goal,
          allocatedPerResultByte: round3(await allocationPerResultByte(file)),
        }),
      );
    }
  } finally {
    await Promise.all(Object.values(files).map((f) => rm(f, { force: true })));
  }
}

if (process.argv[2] === '--one') {
  const [name, file] = process.argv.slice(3) as [NewProcessCase, string];
  console.log(JSON.stringify(await NEW_PROCESS_CASES[name](file)));
} else {
  await main();
}
