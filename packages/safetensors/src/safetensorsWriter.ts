// Writes .safetensors files byte for byte as huggingface/safetensors does: tensors sorted by
// dtype (widest first, the reference's Dtype order) then name, compact JSON header with
// __metadata__ first, padded with spaces to a multiple of 8 bytes, data packed back to back.
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { RemaxError } from '@remax/core';
import { bytesPerElement, type DType } from './dtype.js';
import { float32ToBf16Array, float32ToF16Array } from './halfFloat.js';
import { storedBytes, type TensorEntry, validateEntry } from './tensorEntry.js';

/** The reference implementation's Dtype declaration order (derive(Ord)): its sort key. */
const DTYPE_ORDER: DType[] = ['BOOL', 'U8', 'I8', 'I16', 'F16', 'BF16', 'I32', 'F32', 'F64', 'I64'];

/** Float32 -> 16-bit conversions run in chunks so writing never doubles a tensor's memory. */
const CONVERT_CHUNK_ELEMENTS = 1 << 22;

/** Distinguishes concurrent writes from this process to the same path. */
let tempCounter = 0;

export type TensorMap = Map<string, TensorEntry> | Record<string, TensorEntry>;

function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Tensors in the order the reference writes them. */
export function layoutOrder(entries: [string, TensorEntry][]): [string, TensorEntry][] {
  return [...entries].sort(
    ([an, a], [bn, b]) =>
      DTYPE_ORDER.indexOf(b.dtype) - DTYPE_ORDER.indexOf(a.dtype) || compareNames(an, bn),
  );
}

/** The 8-byte length + padded JSON header for tensors already in layout order. */
export function encodeHeader(
  ordered: [string, TensorEntry][],
  metadata: Record<string, string> | undefined,
): Uint8Array {
  const parts: string[] = [];
  if (metadata !== undefined) {
    const keys = Object.keys(metadata).sort(compareNames);
    const body = keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',');
    parts.push(`"__metadata__":{${body}}`);
  }
  let offset = 0;
  for (const [name, entry] of ordered) {
    const end = offset + storedBytes(entry);
    const info = `{"dtype":"${entry.dtype}","shape":[${entry.shape.join(',')}],"data_offsets":[${offset},${end}]}`;
    parts.push(`${JSON.stringify(name)}:${info}`);
    offset = end;
  }
  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const padded = json.byteLength + ((8 - (json.byteLength % 8)) % 8);
  const out = new Uint8Array(8 + padded).fill(0x20, 8);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  return out;
}

function toEntries(tensors: TensorMap): [string, TensorEntry][] {
  return tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
}

/**
 * Writes one .safetensors file. `metadata` goes to `__metadata__` on top of `{"format": "pt"}`
 * (what transformers writes). The file appears atomically: written under a temporary name,
 * then renamed, so a failed write never leaves a partial checkpoint behind.
 */
export async function writeSafetensors(
  path: string,
  tensors: TensorMap,
  metadata?: Record<string, string>,
): Promise<void> {
  const entries = toEntries(tensors);
  for (const [name, entry] of entries) validateEntry(name, entry, path);
  if (metadata !== undefined && !Object.values(metadata).every((v) => typeof v === 'string')) {
    throw new RemaxError('E_INPUT', 'metadata values must be strings', {
      file: path,
      value: metadata,
    });
  }
  const ordered = layoutOrder(entries);
  const header = encodeHeader(ordered, { format: 'pt', ...metadata });
  tempCounter += 1;
  const temp = `${path}.tmp-${process.pid}-${tempCounter}`;
  let handle: FileHandle | undefined;
  try {
    handle = await open(temp, 'w');
    await writeAll(handle, header);
    for (const [, entry] of ordered) await writeTensorData(handle, entry);
    await handle.close();
    handle = undefined;
    await rename(temp, path);
  } catch (cause) {
    await handle?.close().catch(() => undefined);
    await rm(temp, { force: true });
    if (cause instanceof RemaxError) throw cause;
    throw new RemaxError('E_FILE', 'cannot write safetensors file', { file: path, cause });
  }
}

async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.byteLength - done);
    done += bytesWritten;
  }
}

async function writeTensorData(handle: FileHandle, entry: TensorEntry): Promise<void> {
  const { data, dtype } = entry;
  const needsRounding = (dtype === 'BF16' || dtype === 'F16') && data instanceof Float32Array;
  if (!needsRounding) {
    const bytes = new Uint8Array(
      data.buffer,
      data.byteOffset,
      data.length * bytesPerElement(dtype),
    );
    await writeAll(handle, bytes);
    return;
  }
  const src = data as Float32Array;
  const convert = dtype === 'BF16' ? float32ToBf16Array : float32ToF16Array;
  const scratch = new Uint16Array(Math.min(src.length, CONVERT_CHUNK_ELEMENTS));
  for (let i = 0; i < src.length; i += scratch.length) {
    const part = src.subarray(i, Math.min(src.length, i + scratch.length));
    const out = scratch.subarray(0, part.length);
    convert(part, out);
    await writeAll(handle, new Uint8Array(out.buffer, 0, out.byteLength));
  }
}
