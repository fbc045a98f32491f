// A restricted unpickler for PyTorch state_dict pickles (the `weights_only=True` rule):
// it interprets the pickle opcodes as data, accepts only the globals a state_dict needs,
// and never imports or calls anything. Any other global is an E_UNSAFE_PICKLE error.
import { RemaxError } from '@remax/core';
import { decodeLong, latin1, malformed, parseIndex, parseIntText, Reader } from './pickleReader.js';
import { PyDict, PyGlobal, type PyKey, PyTuple, type PyValue } from './pickleValues.js';
import {
  ALLOWED_GLOBALS,
  describeCallable,
  persistentLoad,
  reduce,
  unsafe,
} from './torchGlobals.js';

const MARK = Symbol('mark');
type StackItem = PyValue | typeof MARK;

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
