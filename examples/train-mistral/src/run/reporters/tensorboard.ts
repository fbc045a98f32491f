// TensorBoard event files under <run_dir>/tensorboard/, written without
// TensorFlow: one record per step, appended and checksummed, so a run killed
// mid-write leaves every earlier step readable.
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { RemaxError } from '@remax/core';
import { fileVersionEvent, scalarsEvent } from './eventProto.js';
import { frameRecord, readRecords } from './tfrecord.js';

export const TENSORBOARD_DIR = 'tensorboard';
const PREFIX = 'events.out.tfevents.';

/** Step of an Event record (field 2, varint), or undefined when it has none. */
export function eventStep(data: Uint8Array): number | undefined {
  let at = 0;
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = data[at++];
      if (b === undefined) throw new Error('truncated varint');
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return v;
      shift += 7n;
    }
  };
  while (at < data.length) {
    const key = Number(varint());
    const wire = key & 7;
    if (key >>> 3 === 2 && wire === 0) return Number(BigInt.asIntN(64, varint()));
    if (wire === 0) varint();
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const length = Number(varint()); // read before `at` is: varint() moves it
      at += length;
    } else return undefined;
  }
  return undefined;
}

/** Event files of a directory in the order TensorBoard reads them (by name). */
export function eventFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.startsWith(PREFIX))
    .sort()
    .map((f) => join(dir, f));
}

/**
 * Rewrites the event files of an earlier process so they hold only steps <=
 * `step` (those past the checkpoint are redone), and drops a torn last record;
 * empty files are removed. Each rewrite is atomic (temp file + rename).
 */
export function trimEventFiles(dir: string, step: number): void {
  for (const file of eventFiles(dir)) {
    const bytes = new Uint8Array(readFileSync(file));
    const { records, validBytes } = readRecords(bytes);
    const kept = records.filter((r) => (eventStep(r) ?? 0) <= step);
    if (kept.length === records.length && validBytes === bytes.length) continue;
    if (kept.every((r) => eventStep(r) === undefined)) {
      rmSync(file); // only the file_version header would be left
      continue;
    }
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, Buffer.concat(kept.map(frameRecord)));
    renameSync(tmp, file);
  }
}

/** A file name after every existing one, so TensorBoard reads it last. */
function nextFileName(dir: string, now: number): string {
  let seconds = Math.floor(now / 1000);
  for (const f of eventFiles(dir)) {
    const t = Number(f.slice(f.lastIndexOf(PREFIX) + PREFIX.length).split('.')[0]);
    if (Number.isFinite(t) && t >= seconds) seconds = t + 1;
  }
  return join(dir, `${PREFIX}${String(seconds).padStart(10, '0')}.${hostname()}.${process.pid}.0`);
}

/**
 * One event file: opened with a file_version record, then one Event per step.
 * Writes are synchronous appends (a step is already seconds long), so a kill
 * loses at most the record being written.
 */
export class TensorBoardWriter {
  readonly file: string;
  private fd: number | null;

  constructor(dir: string, now = Date.now()) {
    mkdirSync(dir, { recursive: true });
    this.file = nextFileName(dir, now);
    try {
      this.fd = openSync(this.file, 'wx');
    } catch (cause) {
      throw new RemaxError('E_FILE', 'cannot create the TensorBoard event file', {
        file: this.file,
        cause,
      });
    }
    this.append(fileVersionEvent(now / 1000));
  }

  /** Scalars of one training step. */
  write(step: number, scalars: ReadonlyArray<readonly [string, number]>, now = Date.now()): void {
    if (scalars.length > 0) this.append(scalarsEvent(now / 1000, step, scalars));
  }

  private append(event: Uint8Array): void {
    if (this.fd === null) {
      throw new RemaxError('E_STATE', 'TensorBoard writer is closed', { file: this.file });
    }
    writeSync(this.fd, frameRecord(event));
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
