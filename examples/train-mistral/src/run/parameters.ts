import { RemaxError, tf } from '@remax/core';
import { openCheckpoint, type TensorEntry, writeSafetensors } from '@remax/safetensors';

/** Writes trainable variables as float32 safetensors (exact, for resume). */
export async function saveParameters(
  params: Map<string, tf.Variable>,
  file: string,
): Promise<void> {
  const tensors = new Map<string, TensorEntry>();
  for (const [name, v] of params) {
    tensors.set(name, { dtype: 'F32', shape: v.shape, data: (await v.data()) as Float32Array });
  }
  await writeSafetensors(file, tensors);
}

/** Assigns every variable from a file written by saveParameters (names and shapes must match). */
export async function loadParametersInto(
  params: Map<string, tf.Variable>,
  file: string,
): Promise<void> {
  const ckpt = await openCheckpoint(file);
  try {
    for (const [name, v] of params) {
      const info = ckpt.names().includes(name) ? ckpt.info(name) : null;
      if (!info || info.shape.join(',') !== v.shape.join(',')) {
        throw new RemaxError('E_CHECKPOINT', 'saved parameter missing or mis-shaped', {
          file,
          field: name,
          value: info?.shape ?? null,
          expected: `[${v.shape.join(', ')}]`,
        });
      }
      const data = (await ckpt.read(name, { as: 'float32' })) as Float32Array;
      tf.tidy(() => v.assign(tf.tensor(data, v.shape, 'float32')));
    }
  } finally {
    await ckpt.close();
  }
}
