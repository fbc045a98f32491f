import { readBytesAt } from './fileRange.js';
import { openFile } from './openFile.js';
import {
  type HeaderTensor,
  parseHeaderJson,
  parseHeaderLength,
  type SafetensorsHeader,
} from './safetensorsHeader.js';
import { contiguousStrides, type TensorLocation, type TensorSource } from './tensorSource.js';

export interface SafetensorsSource extends TensorSource {
  readonly header: SafetensorsHeader;
}

/** Opens a .safetensors file and reads only its header; tensor bytes are read on demand. */
export async function openSafetensorsFile(file: string): Promise<SafetensorsSource> {
  const handle = await openFile(file);
  try {
    const { size } = await handle.stat();
    const prefix =
      size >= 8 ? await readBytesAt(handle, file, 0, 8, 'header length') : new Uint8Array(8);
    const headerLength = parseHeaderLength(prefix, size, file);
    const headerBytes = await readBytesAt(handle, file, 8, headerLength, 'header');
    const dataStart = 8 + headerLength;
    const parsed = parseHeaderJson(headerBytes, size - dataStart, file);
    const header: SafetensorsHeader = { headerLength, dataStart, ...parsed };
    const locate = (name: string): TensorLocation | undefined => {
      const t: HeaderTensor | undefined = header.tensors.get(name);
      if (t === undefined) return undefined;
      return {
        file,
        handle,
        dtype: t.dtype,
        shape: t.shape,
        position: dataStart + t.begin,
        strides: contiguousStrides(t.shape),
        available: t.end - t.begin,
        bigEndian: false,
      };
    };
    return {
      file,
      header,
      names: () => [...header.tensors.keys()],
      locate,
      close: () => handle.close(),
    };
  } catch (e) {
    await handle.close();
    throw e;
  }
}
