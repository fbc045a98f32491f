// The few fields of TensorBoard's Event proto a scalar log needs
// (tensorboard/compat/proto/event.proto, summary.proto):
//   Event { double wall_time = 1; int64 step = 2; oneof what { string file_version = 3;
//           Summary summary = 5; } }
//   Summary { repeated Value value = 1; }  Value { string tag = 1; float simple_value = 2; }
// Hand-encoded: five fields do not need a protobuf runtime.

const utf8 = new TextEncoder();

class ProtoWriter {
  private readonly chunks: number[] = [];

  private varint(v: bigint): void {
    let x = BigInt.asUintN(64, v);
    while (x >= 0x80n) {
      this.chunks.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.chunks.push(Number(x));
  }

  private key(field: number, wireType: number): void {
    this.varint(BigInt((field << 3) | wireType));
  }

  double(field: number, v: number): this {
    this.key(field, 1);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.chunks.push(...b);
    return this;
  }

  float(field: number, v: number): this {
    this.key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.chunks.push(...b);
    return this;
  }

  int64(field: number, v: number): this {
    this.key(field, 0);
    this.varint(BigInt(v));
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.key(field, 2);
    this.varint(BigInt(b.length));
    this.chunks.push(...b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, utf8.encode(s));
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

/** The first record of every event file: names the format version. */
export function fileVersionEvent(wallTime: number): Uint8Array {
  return new ProtoWriter().double(1, wallTime).string(3, 'brain.Event:2').finish();
}

/** One Event holding a simple_value scalar per (tag, value), at `step`. */
export function scalarsEvent(
  wallTime: number,
  step: number,
  scalars: ReadonlyArray<readonly [string, number]>,
): Uint8Array {
  const summary = new ProtoWriter();
  for (const [tag, value] of scalars)
    summary.bytes(1, new ProtoWriter().string(1, tag).float(2, value).finish());
  return new ProtoWriter().double(1, wallTime).int64(2, step).bytes(5, summary.finish()).finish();
}
