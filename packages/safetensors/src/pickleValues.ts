import type { DType } from './dtype.js';

// Python values as the restricted unpickler builds them. Nothing here can run code.

export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

export class PyDict {
  readonly map = new Map<PyKey, PyValue>();
}

/** A global the pickle named and the allow list accepted (never imported or called). */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/** A storage reference from a persistent id: ('storage', torch.XStorage, key, location, numel). */
export class TorchStorage {
  constructor(
    readonly dtype: DType,
    readonly key: string,
    readonly numel: number,
  ) {}
}

/** A tensor view on a storage, as torch._utils._rebuild_tensor_v2 describes it. */
export class TorchTensor {
  constructor(
    readonly storage: TorchStorage,
    readonly storageOffset: number,
    readonly shape: number[],
    readonly strides: number[],
  ) {}
}

export type PyKey = string | number | bigint | boolean | null;

export type PyValue =
  | PyKey
  | Uint8Array
  | PyValue[]
  | PyTuple
  | PyDict
  | PyGlobal
  | TorchStorage
  | TorchTensor;
