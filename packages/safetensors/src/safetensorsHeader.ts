import { RemaxError } from '@remax/core';
import { assertDType, bytesPerElement, type DType } from './dtype.js';

/** Same cap as the reference implementation (huggingface/safetensors): 100 MB of header JSON. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface HeaderTensor {
  dtype: DType;
  shape: number[];
  /** Byte offsets relative to the start of the data region (after the header). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Length of the JSON header in bytes (the file's first 8 bytes). */
  headerLength: number;
  /** Absolute file position where the data region starts: 8 + headerLength. */
  dataStart: number;
  metadata: Record<string, string> | undefined;
  /** Tensors in data-offset order. */
  tensors: Map<string, HeaderTensor>;
}

/** Reads the little-endian u64 header length, refusing lengths the file cannot hold. */
export function parseHeaderLength(prefix: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8) {
    throw new RemaxError('E_FORMAT', 'file is truncated: shorter than the 8-byte header length', {
      file,
      value: `${fileSize} bytes`,
    });
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const length = view.getBigUint64(0, true);
  if (length > BigInt(fileSize - 8)) {
    throw new RemaxError('E_FORMAT', 'header length is beyond the file size', {
      file,
      value: `${length} header bytes in a ${fileSize}-byte file`,
    });
  }
  if (length > BigInt(MAX_HEADER_BYTES)) {
    throw new RemaxError('E_FORMAT', 'header is too large', {
      file,
      value: `${length} bytes`,
      expected: `at most ${MAX_HEADER_BYTES} bytes`,
    });
  }
  return Number(length);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNonNegativeInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Decodes and validates the JSON header: UTF-8, JSON object, known dtypes, integer shapes,
 * byte spans equal to shape x dtype size, and offsets that tile the data region exactly
 * (no overlap, no hole, nothing out of bounds).
 */
export function parseHeaderJson(
  headerBytes: Uint8Array,
  dataLength: number,
  file: string,
): Omit<SafetensorsHeader, 'headerLength' | 'dataStart'> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch (cause) {
    throw new RemaxError('E_FORMAT', 'header is not valid UTF-8', { file, cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new RemaxError('E_FORMAT', 'header is not valid JSON', {
      file,
      value: text.slice(0, 60),
      cause,
    });
  }
  if (!isPlainObject(json)) {
    throw new RemaxError('E_FORMAT', 'header is not a JSON object', { file, value: json });
  }

  let metadata: Record<string, string> | undefined;
  const entries: [string, HeaderTensor][] = [];
  for (const [name, raw] of Object.entries(json)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(raw, file);
      continue;
    }
    entries.push([name, parseTensorInfo(name, raw, file)]);
  }

  entries.sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end);
  let expectedBegin = 0;
  for (const [name, t] of entries) {
    if (t.begin < expectedBegin) {
      throw new RemaxError('E_FORMAT', 'tensor data offsets overlap the previous tensor', {
        file,
        field: name,
        value: [t.begin, t.end],
        expected: `a span starting at ${expectedBegin}`,
      });
    }
    if (t.begin > expectedBegin) {
      throw new RemaxError('E_FORMAT', 'tensor data offsets leave a hole before this tensor', {
        file,
        field: name,
        value: [t.begin, t.end],
        expected: `a span starting at ${expectedBegin}`,
      });
    }
    if (t.end > dataLength) {
      throw new RemaxError(
        'E_FORMAT',
        'tensor data ends past the end of the file (file truncated or data_offsets out of bounds)',
        {
          file,
          field: name,
          value: [t.begin, t.end],
          expected: `offsets within the ${dataLength}-byte data region`,
        },
      );
    }
    expectedBegin = t.end;
  }
  if (expectedBegin !== dataLength) {
    throw new RemaxError('E_FORMAT', 'tensors do not cover the data region (trailing bytes)', {
      file,
      value: `data ends at ${expectedBegin}, file data region is ${dataLength} bytes`,
    });
  }
  return { metadata, tensors: new Map(entries) };
}

function parseMetadata(raw: unknown, file: string): Record<string, string> {
  if (!isPlainObject(raw) || !Object.values(raw).every((v) => typeof v === 'string')) {
    throw new RemaxError('E_FORMAT', '__metadata__ must map strings to strings', {
      file,
      field: '__metadata__',
      value: raw,
    });
  }
  return raw as Record<string, string>;
}

function parseTensorInfo(name: string, raw: unknown, file: string): HeaderTensor {
  if (!isPlainObject(raw)) {
    throw new RemaxError('E_FORMAT', 'tensor entry is not an object', {
      file,
      field: name,
      value: raw,
    });
  }
  const dtype = assertDType(raw['dtype'], { file, field: `${name}.dtype` });
  const shape = raw['shape'];
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger)) {
    throw new RemaxError('E_FORMAT', 'invalid shape', {
      file,
      field: `${name}.shape`,
      value: shape,
      expected: 'an array of non-negative integers',
    });
  }
  const offsets = raw['data_offsets'];
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !isNonNegativeInteger(offsets[0]) ||
    !isNonNegativeInteger(offsets[1]) ||
    offsets[1] < offsets[0]
  ) {
    throw new RemaxError('E_FORMAT', 'invalid data_offsets', {
      file,
      field: `${name}.data_offsets`,
      value: offsets,
      expected: '[begin, end] with 0 <= begin <= end',
    });
  }
  const [begin, end] = offsets as [number, number];
  let count = 1;
  for (const d of shape as number[]) count *= d;
  const expectedBytes = count * bytesPerElement(dtype);
  if (!Number.isSafeInteger(expectedBytes) || end - begin !== expectedBytes) {
    throw new RemaxError('E_FORMAT', 'shape x dtype size does not match the byte span', {
      file,
      field: name,
      value: `${dtype} ${JSON.stringify(shape)} = ${expectedBytes} bytes, span ${end - begin} bytes`,
      expected: 'data_offsets spanning exactly the tensor bytes',
    });
  }
  return { dtype, shape: shape as number[], begin, end };
}
