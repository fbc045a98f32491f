// PyTorch .bin / .pt files (torch.save's zip format): archive/data.pkl describes the
// state_dict, archive/data/<key> holds each storage's raw bytes, stored uncompressed.
import type { FileHandle } from 'node:fs/promises';
import { RemaxError } from '@remax/core';
import { bytesPerElement } from './dtype.js';
import { openFile } from './openFile.js';
import { PyDict, TorchTensor } from './pickleValues.js';
import type { TensorLocation, TensorSource } from './tensorSource.js';
import { unpickle } from './unpickler.js';
import { openZip, type ZipArchive } from './zipReader.js';

/** Opens a torch.save zip archive; reads the zip directory and data.pkl only. */
export async function openTorchBin(file: string): Promise<TensorSource> {
  const handle = await openFile(file);
  try {
    await rejectLegacyFormat(handle, file);
    const zip = await openZip(handle, file);
    const pkl = findDataPkl(zip);
    const root = pkl.name.slice(0, -'data.pkl'.length);
    const bigEndian = await readByteOrder(zip, root);
    const state = unpickle(await zip.readEntry(pkl), file);
    const tensors = asStateDict(state, file);
    const locations = new Map<string, TensorLocation>();
    for (const [name, t] of tensors) {
      locations.set(name, await locateTensor(zip, root, name, t, bigEndian));
    }
    return {
      file,
      names: () => [...locations.keys()],
      locate: (name) => locations.get(name),
      close: () => handle.close(),
    };
  } catch (e) {
    await handle.close();
    throw e;
  }
}

async function rejectLegacyFormat(handle: FileHandle, file: string): Promise<void> {
  const head = new Uint8Array(2);
  const { bytesRead } = await handle.read(head, 0, 2, 0);
  if (bytesRead === 2 && head[0] === 0x80 && head[1] !== undefined && head[1] <= 5) {
    throw new RemaxError('E_UNSUPPORTED', 'legacy (pre-zip) torch.save format is not supported', {
      file,
      expected:
        'a file saved by torch >= 1.6 (zip format); re-save it or convert it to safetensors',
    });
  }
}

function findDataPkl(zip: ZipArchive) {
  for (const entry of zip.entries.values()) {
    const parts = entry.name.split('/');
    if (parts.at(-1) === 'data.pkl' && parts.length <= 2) return entry;
  }
  throw new RemaxError('E_FORMAT', 'zip archive has no data.pkl: not a PyTorch checkpoint', {
    file: zip.file,
    expected: 'an entry <archive>/data.pkl',
  });
}

async function readByteOrder(zip: ZipArchive, root: string): Promise<boolean> {
  const entry = zip.entries.get(`${root}byteorder`);
  if (entry === undefined) return false; // files before torch 2.1 are little-endian
  const text = new TextDecoder().decode(await zip.readEntry(entry)).trim();
  if (text !== 'little' && text !== 'big') {
    throw new RemaxError('E_FORMAT', 'unknown byteorder marker', {
      file: zip.file,
      field: entry.name,
      value: text,
      expected: '"little" or "big"',
    });
  }
  return text === 'big';
}

function asStateDict(state: unknown, file: string): Map<string, TorchTensor> {
  if (!(state instanceof PyDict)) {
    throw new RemaxError('E_FORMAT', 'pickle does not hold a state_dict (a dict of tensors)', {
      file,
      field: 'data.pkl',
    });
  }
  const out = new Map<string, TorchTensor>();
  for (const [key, value] of state.map) {
    if (typeof key !== 'string' || !(value instanceof TorchTensor)) {
      throw new RemaxError('E_FORMAT', 'state_dict entry is not a named tensor', {
        file,
        field: String(key),
        expected: 'a flat dict of name -> tensor (nested checkpoints are not supported)',
      });
    }
    out.set(key, value);
  }
  return out;
}

async function locateTensor(
  zip: ZipArchive,
  root: string,
  name: string,
  t: TorchTensor,
  bigEndian: boolean,
): Promise<TensorLocation> {
  const entryName = `${root}data/${t.storage.key}`;
  const entry = zip.entries.get(entryName);
  if (entry === undefined) {
    throw new RemaxError('E_FORMAT', 'tensor storage is missing from the archive', {
      file: zip.file,
      field: name,
      value: entryName,
    });
  }
  if (entry.method !== 0) {
    throw new RemaxError('E_UNSUPPORTED', 'compressed tensor storage cannot be read lazily', {
      file: zip.file,
      field: entryName,
      value: entry.method,
      expected: 'stored (uncompressed) entries, as torch.save writes them',
    });
  }
  if (entry.size !== entry.compressedSize) {
    // a stored entry's size is what lies in the file; a larger claim would be read past it
    throw new RemaxError('E_FORMAT', 'stored tensor entry sizes disagree', {
      file: zip.file,
      field: entryName,
      value: `${entry.size} bytes claimed, ${entry.compressedSize} stored`,
    });
  }
  const size = bytesPerElement(t.storage.dtype);
  const storageBytes = t.storage.numel * size;
  if (entry.size < storageBytes) {
    throw new RemaxError('E_FORMAT', 'tensor storage is shorter than its declared size', {
      file: zip.file,
      field: entryName,
      value: `${entry.size} bytes, ${storageBytes} declared`,
    });
  }
  let last = t.storageOffset;
  for (let i = 0; i < t.shape.length; i++) last += Math.max(0, t.shape[i]! - 1) * t.strides[i]!;
  const empty = t.shape.includes(0);
  if (!empty && last >= t.storage.numel) {
    throw new RemaxError('E_FORMAT', 'tensor view reaches past the end of its storage', {
      file: zip.file,
      field: name,
      value: `element ${last} of a ${t.storage.numel}-element storage`,
    });
  }
  // A view may not need more elements than its storage holds (a 1-element storage
  // viewed as [8192, 8192] with zero strides would make a read allocate 256 MiB):
  // refused here, before anything proportional to the claimed shape is allocated.
  const viewElements = t.shape.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(viewElements) || viewElements > t.storage.numel - t.storageOffset) {
    throw new RemaxError('E_FORMAT', 'tensor view needs more elements than its storage holds', {
      file: zip.file,
      field: name,
      value: `shape ${JSON.stringify(t.shape)} from offset ${t.storageOffset} of a ${t.storage.numel}-element storage`,
      expected: 'a view no larger than its storage',
    });
  }
  const start = await zip.dataStart(entry);
  return {
    file: zip.file,
    handle: zip.handle,
    dtype: t.storage.dtype,
    shape: t.shape,
    position: start + t.storageOffset * size,
    strides: t.strides,
    available: Math.max(0, storageBytes - t.storageOffset * size),
    bigEndian,
  };
}
