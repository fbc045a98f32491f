import { RemaxError, tf } from '@remax/core';

/** Token ids or a mask: int32 tf.Tensor2D [B, T] or number[][]. */
export type IntMatrix = tf.Tensor2D | number[][];

/** Left-padded prompts as `generate` takes them. */
export interface PromptBatch {
  /** [B, P] token ids, left-padded. */
  inputIds: IntMatrix;
  /** [B, P] 1 on tokens, 0 on the left padding. */
  attentionMask: IntMatrix;
}

/** Prompts read into JS, row-major. */
export interface PromptRows {
  readonly ids: Int32Array; // [B, P]
  readonly mask: Int32Array; // [B, P]
  readonly batchSize: number;
  readonly promptLength: number;
}

/**
 * Reads and checks the prompts: same shape, mask entries 0/1, every row
 * left-padded (zeros, then ones) with at least one token. Nothing is coerced.
 */
export function readPrompts(prompts: PromptBatch): PromptRows {
  const ids = readIntMatrix(prompts.inputIds, 'inputIds');
  const mask = readIntMatrix(prompts.attentionMask, 'attentionMask');
  if (ids.rows !== mask.rows || ids.cols !== mask.cols) {
    throw new RemaxError('E_SHAPE', 'attentionMask must have the shape of inputIds', {
      field: 'attentionMask',
      value: [mask.rows, mask.cols],
      expected: `[${ids.rows}, ${ids.cols}]`,
    });
  }
  const { rows: B, cols: P } = ids;
  for (let b = 0; b < B; b++) {
    let seenToken = false;
    for (let t = 0; t < P; t++) {
      const m = mask.data[b * P + t] as number;
      const id = ids.data[b * P + t] as number;
      if (m !== 0 && m !== 1) {
        throw new RemaxError('E_INPUT', 'attention mask entries must be 0 or 1', {
          field: `attentionMask[${b}][${t}]`,
          value: m,
          expected: '0 or 1',
        });
      }
      if (m === 0 && seenToken) {
        throw new RemaxError('E_INPUT', 'prompts must be left-padded', {
          field: `attentionMask[${b}]`,
          value: `0 at column ${t} after a 1`,
          expected: 'zeros (padding) first, then ones',
        });
      }
      if (m === 1 && id < 0) {
        throw new RemaxError('E_INPUT', 'token ids must be >= 0', {
          field: `inputIds[${b}][${t}]`,
          value: id,
        });
      }
      seenToken ||= m === 1;
    }
    if (!seenToken) {
      throw new RemaxError('E_INPUT', 'a prompt row has no tokens', {
        field: `attentionMask[${b}]`,
        expected: 'at least one 1 per row',
      });
    }
  }
  return { ids: ids.data, mask: mask.data, batchSize: B, promptLength: P };
}

function readIntMatrix(
  m: IntMatrix,
  field: string,
): { data: Int32Array; rows: number; cols: number } {
  if (Array.isArray(m)) {
    const rows = m.length;
    const cols = m[0]?.length ?? 0;
    const data = new Int32Array(rows * cols);
    m.forEach((row, r) => {
      if (!Array.isArray(row) || row.length !== cols) {
        throw new RemaxError('E_SHAPE', 'rows must all have the same length', {
          field: `${field}[${r}]`,
          value: Array.isArray(row) ? row.length : typeof row,
          expected: `${cols} entries`,
        });
      }
      row.forEach((v, c) => {
        if (!Number.isInteger(v)) {
          throw new RemaxError('E_INPUT', 'entries must be integers', {
            field: `${field}[${r}][${c}]`,
            value: v,
          });
        }
        data[r * cols + c] = v;
      });
    });
    checkNonEmpty(field, rows, cols);
    return { data, rows, cols };
  }
  if (!(m instanceof tf.Tensor) || m.rank !== 2 || m.dtype !== 'int32') {
    throw new RemaxError('E_INPUT', 'expected an int32 tf.Tensor2D or number[][]', {
      field,
      value: m instanceof tf.Tensor ? `${m.dtype} tensor of shape [${m.shape}]` : typeof m,
      expected: 'int32 [B, P]',
    });
  }
  const [rows, cols] = m.shape;
  checkNonEmpty(field, rows, cols);
  return { data: Int32Array.from(m.dataSync() as Int32Array), rows, cols };
}

function checkNonEmpty(field: string, rows: number, cols: number): void {
  if (rows === 0 || cols === 0) {
    throw new RemaxError('E_SHAPE', 'empty prompt batch', {
      field,
      value: [rows, cols],
      expected: 'B >= 1 and P >= 1',
    });
  }
}
