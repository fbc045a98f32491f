// The gradient-accumulation loop every algorithm with one policy loss runs:
// one loss per row micro-batch (each already its share of the full-batch loss,
// so the gradients add up to the full-batch gradient) into one updater.
import { microBatches } from './batches.js';
import type { TensorBytesWatermark } from './stepMetrics.js';
import type { tf } from './tf.js';
import type { ParameterUpdater } from './updater.js';

/**
 * Adds `lossOfRows(s, e)` of each micro-batch of `rows` rows to `updater`,
 * sampling `memory` while the forward's activations are alive and after each
 * backward. The caller then steps the updater.
 */
export function accumulateMicroBatches(
  updater: ParameterUpdater,
  rows: number,
  microBatchSize: number,
  memory: TensorBytesWatermark,
  lossOfRows: (s: number, e: number) => tf.Scalar,
): void {
  for (const [s, e] of microBatches(rows, microBatchSize)) {
    updater.addMicroBatch(() => {
      const loss = lossOfRows(s, e);
      memory.sample(); // the forward's activations are alive here
      return loss;
    });
    memory.sample();
  }
}
