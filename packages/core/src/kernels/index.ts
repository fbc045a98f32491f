import { fixWasmGatherBatchDims } from './gather-batch-dims.js';
import { registerGradientFixes } from './gradient-fixes.js';
import { shareWasmIdentity } from './identity-shared.js';
import { registerUnsortedSegmentSumWasm } from './unsorted-segment-sum.js';

/**
 * Fills the gaps of tfjs 4.22 that training hits: wasm kernels (call after
 * importing @tensorflow/tfjs-backend-wasm), gradients, and a wasm Identity
 * that shares storage instead of copying. Idempotent.
 */
export function registerTfjsFixes(): void {
  registerGradientFixes();
  registerUnsortedSegmentSumWasm();
  fixWasmGatherBatchDims();
  shareWasmIdentity();
}
