// An independent reader of TensorBoard event files for the tests: TFRecord
// framing checked with a bitwise CRC-32C, the Event protos decoded by protobufjs
// from TensorBoard's own field numbers (tensorboard/compat/proto/event.proto,
// summary.proto). It shares no code with src/run/reporters.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import type { StepRecord } from '../src/run/metrics.js';

const root = protobuf.parse(`
syntax = "proto3";
message Value { string tag = 1; float simple_value = 2; }
message Summary { repeated Value value = 1; }
message Event { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
`).root;
const EventType = root.lookupType('Event');

export function bitwiseCrc32c(bytes: Uint8Array): number {
  let crc = ~0 >>> 0;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}
const masked = (b: Uint8Array) => {
  const c = bitwiseCrc32c(b);
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
};

export interface DecodedEvent {
  wallTime: number;
  step: number;
  fileVersion: string;
  scalars: Map<string, number>;
}

/** Reads records until the end or the first torn / corrupt one, as TensorBoard's reader does. */
export function readEventFile(file: string): DecodedEvent[] {
  const buf = readFileSync(file);
  const out: DecodedEvent[] = [];
  let at = 0;
  while (at + 12 <= buf.length) {
    const len = Number(buf.readBigUInt64LE(at));
    if (buf.readUInt32LE(at + 8) !== masked(buf.subarray(at, at + 8))) break;
    if (at + 12 + len + 4 > buf.length) break;
    const data = buf.subarray(at + 12, at + 12 + len);
    if (buf.readUInt32LE(at + 12 + len) !== masked(data)) break;
    const e = EventType.toObject(EventType.decode(data), { longs: Number, defaults: true }) as {
      wallTime: number;
      step: number;
      fileVersion: string;
      summary?: { value: { tag: string; simpleValue: number }[] };
    };
    out.push({
      wallTime: e.wallTime,
      step: e.step,
      fileVersion: e.fileVersion,
      scalars: new Map((e.summary?.value ?? []).map((v) => [v.tag, v.simpleValue])),
    });
    at += 12 + len + 4;
  }
  return out;
}

/** Every scalar of a run directory's event files, in TensorBoard's file order. */
export function readRun(runDir: string): DecodedEvent[] {
  const dir = join(runDir, 'tensorboard');
  // TensorBoard reads a run directory's event files in name order
  return readdirSync(dir)
    .filter((f) => f.startsWith('events.out.tfevents.'))
    .sort()
    .flatMap((f) => readEventFile(join(dir, f)));
}

/** What metrics.jsonl says each scalar is, by default as float32 (simple_value's type). */
export function expectedScalars(r: StepRecord, round = Math.fround): Map<string, number> {
  const m = new Map<string, number>();
  for (const [k, v] of Object.entries(r)) {
    if (k !== 'step' && k !== 'algo' && typeof v === 'number') m.set(k, round(v));
  }
  for (const [k, v] of Object.entries(r.algo)) if (v !== null) m.set(k, round(v));
  return m;
}
