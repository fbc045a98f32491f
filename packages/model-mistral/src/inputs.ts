import { RemaxError, tf } from '@remax/core';

/** Token ids or a mask: int32 tf.Tensor2D [B, T] or number[][]. */
export type TokenMatrix = tf.Tensor2D | number[][];

export interface ReadMatrix {
  data: Int32Array;
  rows: number;
  cols: number;
}

/** Reads an int matrix into JS, checking its shape and values (nothing is coerced). */
export function readMatrix(
  m: TokenMatrix,
  field: string,
  valid: (v: number) => boolean,
  expected: string,
): ReadMatrix {
  let data: Int32Array;
  let rows: number;
  let cols: number;
  if (Array.isArray(m)) {
    rows = m.length;
    cols = m[0]?.length ?? 0;
    data = new Int32Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      const row = m[r];
      if (!Array.isArray(row) || row.length !== cols) {
        throw new RemaxError('E_INPUT', 'rows must all have the same length', {
          field: `${field}[${r}]`,
          value: Array.isArray(row) ? row.length : row,
          expected: `${cols} entries`,
        });
      }
      for (let c = 0; c < cols; c++) {
        const v = row[c];
        if (typeof v !== 'number' || !Number.isInteger(v) || !valid(v)) {
          throw new RemaxError('E_INPUT', 'bad entry', {
            field: `${field}[${r}][${c}]`,
            value: v,
            expected,
          });
        }
        data[r * cols + c] = v;
      }
    }
  } else {
    if (!(m instanceof tf.Tensor) || m.rank !== 2 || m.dtype !== 'int32') {
      throw new RemaxError('E_INPUT', 'expected an int32 tf.Tensor2D or number[][]', {
        field,
        value: m instanceof tf.Tensor ? `${m.dtype} tensor of shape [${m.shape}]` : typeof m,
        expected: 'int32 [B, T]',
      });
    }
    [rows, cols] = m.shape;
    data = m.dataSync() as Int32Array;
    for (let i = 0; i < data.length; i++) {
      const v = data[i] as number;
      if (!valid(v)) {
        throw new RemaxError('E_INPUT', 'bad entry', {
          field: `${field}[${Math.floor(i / cols)}][${i % cols}]`,
          value: v,
          expected,
        });
      }
    }
  }
  if (rows === 0 || cols === 0) {
    throw new RemaxError('E_INPUT', 'empty batch', {
      field,
      value: [rows, cols],
      expected: 'B >= 1, T >= 1',
    });
  }
  return { data, rows, cols };
}
