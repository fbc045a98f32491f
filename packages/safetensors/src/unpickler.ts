// A restricted unpickler for PyTorch state_dict pickles (the `weights_only=True` rule):
// it interprets the pickle opcodes as data, accepts only the globals a state_dict needs,
// and never imports or calls anything. Any other global is an E_UNSAFE_PICKLE error.
import { RemaxError } from '@remax/core';
import type { DType } from './dtype.js';
import {
  PyDict,
  PyGlobal,
  type PyKey,
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

const ALLOWED_GLOBALS = new Set([
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  'collections.OrderedDict',
  ...Object.keys(STORAGE_DTYPES).map((s) => `torch.${s}`),
]);

/** The allow list, for documentation and error messages. */
export function allowedPickleGlobals(): string[] {
  return [...ALLOWED_GLOBALS];
}

const MARK = Symbol('mark');
type StackItem = PyValue | typeof MARK;

class Reader {
  pos = 0;
  private readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly file: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(n: number): number {
    if (this.pos + n > this.bytes.byteLength) throw malformed(this.file, 'pickle is truncated');
    const at = this.pos;
    this.pos += n;
    return at;
  }
  u8(): number {
    return this.bytes[this.need(1)]!;
  }
  u16(): number {
    return this.view.getUint16(this.need(2), true);
  }
  u32(): number {
    return this.view.getUint32(this.need(4), true);
  }
  i32(): number {
    return this.view.getInt32(this.need(4), true);
  }
  u64(): number {
    const v = this.view.getBigUint64(this.need(8), true);
    if (v > BigInt(this.bytes.byteLength))
      throw malformed(this.file, 'pickle length field too large');
    return Number(v);
  }
  f64be(): number {
    return this.view.getFloat64(this.need(8), false);
  }
  take(n: number): Uint8Array {
    const at = this.need(n);
    return this.bytes.subarray(at, at + n);
  }
  line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) throw malformed(this.file, 'pickle is truncated (unterminated text line)');
    const text = new TextDecoder().decode(this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return text;
  }
}

function malformed(file: string, message: string, value?: unknown): RemaxError {
  return new RemaxError('E_FORMAT', message, { file, field: 'data.pkl', value });
}

function unsafe(file: string, what: string, global: string): RemaxError {
  return new RemaxError('E_UNSAFE_PICKLE', `pickle ${what} ${global}, which is not allowed`, {
    file,
    field: 'data.pkl',
    value: global,
    expected: `only the globals a state_dict needs: ${[...ALLOWED_GLOBALS].join(', ')}`,
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses a state_dict pickle into plain values; tensors become TorchTensor descriptions. */
export function unpickle(bytes: Uint8Array, file: string): PyValue {
  const r = new Reader(bytes, file);
  const stack: StackItem[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PyValue>();

  const pop = (): PyValue => {
    const v = stack.pop();
    if (v === undefined || v === MARK) throw malformed(file, 'pickle stack underflow');
    return v;
  };
  const top = (): PyValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) throw malformed(file, 'pickle stack underflow');
    return v;
  };
  const popMark = (): PyValue[] => {
    const at = marks.pop();
    if (at === undefined) throw malformed(file, 'pickle MARK missing');
    const items = stack.splice(at) as PyValue[];
    stack.pop(); // the MARK itself
    return items;
  };
  const push = (v: PyValue) => stack.push(v);
  const decode = (b: Uint8Array): string => {
    try {
      return utf8.decode(b);
    } catch (cause) {
      throw new RemaxError('E_FORMAT', 'pickle string is not UTF-8', {
        file,
        field: 'data.pkl',
        cause,
      });
    }
  };
  const memoGet = (i: number): PyValue => {
    if (!memo.has(i)) throw malformed(file, 'pickle memo key missing', i);
    return memo.get(i)!;
  };
  const global = (module: string, name: string): PyGlobal => {
    const qualified = `${module}.${name}`;
    if (!ALLOWED_GLOBALS.has(qualified)) throw unsafe(file, 'names the global', qualified);
    return new PyGlobal(module, name);
  };

  for (;;) {
    const op = r.u8();
    switch (op) {
      case 0x80: // PROTO
        r.u8();
        break;
      case 0x95: // FRAME
        r.u64();
        break;
      case 0x2e: {
        // STOP
        const result = pop();
        return result;
      }
      case 0x28: // MARK
        marks.push(stack.length + 1);
        stack.push(MARK);
        break;
      case 0x30: {
        // POP (may discard a MARK)
        const v = stack.pop();
        if (v === undefined) throw malformed(file, 'pickle stack underflow');
        if (v === MARK) marks.pop();
        break;
      }
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      case 0x4e: // NONE
        push(null);
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x4a: // BININT
        push(r.i32());
        break;
      case 0x4b: // BININT1
        push(r.u8());
        break;
      case 0x4d: // BININT2
        push(r.u16());
        break;
      case 0x49: {
        // INT (text); "00"/"01" are False/True in protocol 0
        const text = r.line();
        if (text === '00' || text === '01') push(text === '01');
        else push(parseIntText(text, file));
        break;
      }
      case 0x4c: // LONG (text)
        push(parseIntText(r.line().replace(/L$/, ''), file));
        break;
      case 0x8a: // LONG1
        push(decodeLong(r.take(r.u8())));
        break;
      case 0x8b: // LONG4
        push(decodeLong(r.take(r.u32())));
        break;
      case 0x47: // BINFLOAT
        push(r.f64be());
        break;
      case 0x46: // FLOAT (text)
        push(Number.parseFloat(r.line()));
        break;
      case 0x58: // BINUNICODE
        push(decode(r.take(r.u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(decode(r.take(r.u8())));
        break;
      case 0x8d: // BINUNICODE8
        push(decode(r.take(r.u64())));
        break;
      case 0x56: // UNICODE (raw-unicode-escape text; state_dict keys are plain)
        push(r.line());
        break;
      case 0x54: // BINSTRING
        push(latin1(r.take(r.u32())));
        break;
      case 0x55: // SHORT_BINSTRING
        push(latin1(r.take(r.u8())));
        break;
      case 0x53: {
        // STRING (quoted text)
        const text = r.line();
        push(text.slice(1, -1));
        break;
      }
      case 0x42: // BINBYTES
        push(r.take(r.u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        push(r.take(r.u8()).slice());
        break;
      case 0x8e: // BINBYTES8
        push(r.take(r.u64()).slice());
        break;
      case 0x96: // BYTEARRAY8
        push(r.take(r.u64()).slice());
        break;
      case 0x29: // EMPTY_TUPLE
        push(new PyTuple([]));
        break;
      case 0x85: // TUPLE1
        push(new PyTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        push(new PyTuple([pop(), b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        push(new PyTuple([pop(), b, c]));
        break;
      }
      case 0x74: // TUPLE
        push(new PyTuple(popMark()));
        break;
      case 0x5d: // EMPTY_LIST
        push([]);
        break;
      case 0x6c: // LIST
        push(popMark());
        break;
      case 0x61: {
        // APPEND
        const v = pop();
        asList(top(), file).push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        asList(top(), file).push(...items);
        break;
      }
      case 0x7d: // EMPTY_DICT
        push(new PyDict());
        break;
      case 0x64: {
        // DICT
        const items = popMark();
        const d = new PyDict();
        setItems(d, items, file);
        push(d);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(asDict(top(), file), [k, v], file);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(asDict(top(), file), items, file);
        break;
      }
      case 0x71: // BINPUT
        memo.set(r.u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(r.u32(), top());
        break;
      case 0x70: // PUT
        memo.set(parseIndex(r.line(), file), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        push(memoGet(r.u8()));
        break;
      case 0x6a: // LONG_BINGET
        push(memoGet(r.u32()));
        break;
      case 0x67: // GET
        push(memoGet(parseIndex(r.line(), file)));
        break;
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = r.line();
        push(global(module, r.line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') {
          throw malformed(file, 'pickle STACK_GLOBAL operands are not strings');
        }
        push(global(module, name));
        break;
      }
      case 0x51: // BINPERSID
        push(persistentLoad(pop(), file));
        break;
      case 0x50: // PERSID (text ids are not what torch writes)
        throw malformed(file, 'pickle uses a text persistent id', r.line());
      case 0x52: {
        // REDUCE
        const args = pop();
        const callable = pop();
        push(reduce(callable, args, file));
        break;
      }
      case 0x81: {
        // NEWOBJ: only OrderedDict may be instantiated (an empty dict)
        pop(); // constructor arguments: an empty OrderedDict takes none that matter
        const cls = pop();
        if (cls instanceof PyGlobal && cls.qualified === 'collections.OrderedDict') {
          push(new PyDict());
        } else {
          throw unsafe(file, 'instantiates', describeCallable(cls));
        }
        break;
      }
      case 0x62: {
        // BUILD: sets attributes (OrderedDict._metadata); data only, so ignored on dicts
        pop();
        if (!(top() instanceof PyDict)) throw malformed(file, 'pickle BUILD on a non-dict object');
        break;
      }
      case 0x69: // INST
      case 0x6f: // OBJ
      case 0x92: // NEWOBJ_EX
        throw new RemaxError('E_UNSAFE_PICKLE', 'pickle instantiates an arbitrary class', {
          file,
          field: 'data.pkl',
          value: `opcode 0x${op.toString(16)}`,
        });
      case 0x82: // EXT1
      case 0x83: // EXT2
      case 0x84: // EXT4
        throw new RemaxError('E_UNSAFE_PICKLE', 'pickle uses the copyreg extension registry', {
          file,
          field: 'data.pkl',
          value: `opcode 0x${op.toString(16)}`,
        });
      default:
        throw malformed(
          file,
          'unsupported pickle opcode',
          `0x${op.toString(16)} at byte ${r.pos - 1}`,
        );
    }
  }
}

function persistentLoad(pid: PyValue, file: string): TorchStorage {
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

function reduce(callable: PyValue, args: PyValue, file: string): PyValue {
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

function describeCallable(v: PyValue): string {
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

function asList(v: PyValue, file: string): PyValue[] {
  if (!Array.isArray(v)) throw malformed(file, 'pickle APPEND on a non-list');
  return v;
}

function asDict(v: PyValue, file: string): PyDict {
  if (!(v instanceof PyDict)) throw malformed(file, 'pickle SETITEM on a non-dict');
  return v;
}

function setItems(d: PyDict, items: PyValue[], file: string): void {
  if (items.length % 2 !== 0) throw malformed(file, 'pickle SETITEMS with an odd item count');
  for (let i = 0; i < items.length; i += 2) {
    const k = items[i]!;
    if (k !== null && typeof k === 'object')
      throw malformed(file, 'pickle dict key is not a scalar');
    d.map.set(k as PyKey, items[i + 1]!);
  }
}

function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]!);
  if ((bytes[bytes.length - 1]! & 0x80) !== 0) v -= 1n << BigInt(8 * bytes.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(v)
    : v;
}

function parseIntText(text: string, file: string): number | bigint {
  if (!/^-?\d+$/.test(text)) throw malformed(file, 'pickle integer is not a number', text);
  const v = BigInt(text);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(v)
    : v;
}

function parseIndex(text: string, file: string): number {
  const v = parseIntText(text, file);
  if (typeof v !== 'number' || v < 0) throw malformed(file, 'pickle memo index is invalid', text);
  return v;
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}
