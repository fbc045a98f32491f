// The globals a PyTorch state_dict pickle may name, and what the restricted unpickler does
// with them: storage references become TorchStorage, _rebuild_tensor_v2 becomes a
// TorchTensor description, OrderedDict() an empty dict. Nothing is imported or called.
import { RemaxError } from '@remax/core';
import type { DType } from './dtype.js';
import { malformed } from './pickleReader.js';
import {
  PyDict,
  PyGlobal,
  PyTuple,
  type PyValue,
  TorchStorage,
  TorchTensor,
} from './pickleValues.js';

const STORAGE_DTYPES: Record<string, DType> = {
  DoubleStorage: 'F64',
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

export const ALLOWED_GLOBALS = new Set([
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  'collections.OrderedDict',
  ...Object.keys(STORAGE_DTYPES).map((s) => `torch.${s}`),
]);

/** The E_UNSAFE_PICKLE error for a global outside the allow list. */
export function unsafe(file: string, what: string, global: string): RemaxError {
  return new RemaxError('E_UNSAFE_PICKLE', `pickle ${what} ${global}, which is not allowed`, {
    file,
    field: 'data.pkl',
    value: global,
    expected: `only the globals a state_dict needs: ${[...ALLOWED_GLOBALS].join(', ')}`,
  });
}

/** A persistent id: ('storage', torch.XStorage, key, location, numel) -> TorchStorage. */
export function persistentLoad(pid: PyValue, file: string): TorchStorage {
  const items = pid instanceof PyTuple ? pid.items : undefined;
  if (items === undefined || items.length < 5 || items[0] !== 'storage') {
    throw malformed(file, 'pickle persistent id is not a torch storage reference');
  }
  const [, type, key, , numel] = items;
  if (!(type instanceof PyGlobal) || type.module !== 'torch' || !(type.name in STORAGE_DTYPES)) {
    throw new RemaxError('E_UNSUPPORTED', 'unsupported torch storage type', {
      file,
      field: 'data.pkl',
      value: type instanceof PyGlobal ? type.qualified : typeof type,
    });
  }
  const count = toIndex(numel);
  if (typeof key !== 'string' || count === undefined) {
    throw malformed(file, 'pickle storage reference has a bad key or size');
  }
  return new TorchStorage(STORAGE_DTYPES[type.name]!, key, count);
}

/** REDUCE on an allowed global, interpreted as data (never called). */
export function reduce(callable: PyValue, args: PyValue, file: string): PyValue {
  if (!(callable instanceof PyGlobal)) throw malformed(file, 'pickle REDUCE on a non-callable');
  const a = args instanceof PyTuple ? args.items : undefined;
  if (a === undefined) throw malformed(file, 'pickle REDUCE arguments are not a tuple');
  switch (callable.qualified) {
    case 'collections.OrderedDict':
      if (a.length !== 0) throw malformed(file, 'OrderedDict called with arguments');
      return new PyDict();
    case 'torch._utils._rebuild_parameter': {
      const data = a[0];
      if (!(data instanceof TorchTensor))
        throw malformed(file, '_rebuild_parameter without a tensor');
      return data;
    }
    case 'torch._utils._rebuild_tensor_v2': {
      const [storage, offset, size, stride] = a;
      const storageOffset = toIndex(offset);
      const shape = toIndexTuple(size);
      const strides = toIndexTuple(stride);
      if (
        !(storage instanceof TorchStorage) ||
        storageOffset === undefined ||
        shape === undefined ||
        strides === undefined ||
        shape.length !== strides.length
      ) {
        throw malformed(file, '_rebuild_tensor_v2 arguments are malformed');
      }
      return new TorchTensor(storage, storageOffset, shape, strides);
    }
    default:
      throw unsafe(file, 'calls', callable.qualified);
  }
}

export function describeCallable(v: PyValue): string {
  return v instanceof PyGlobal ? v.qualified : 'a non-global';
}

function toIndex(v: PyValue | undefined): number | undefined {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  if (typeof v === 'bigint' && v >= 0n && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  return undefined;
}

function toIndexTuple(v: PyValue | undefined): number[] | undefined {
  if (!(v instanceof PyTuple)) return undefined;
  const out: number[] = [];
  for (const item of v.items) {
    const i = toIndex(item);
    if (i === undefined) return undefined;
    out.push(i);
  }
  return out;
}
