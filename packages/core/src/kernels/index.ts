import { fixWasmGatherBatchDims } from './gather-batch-dims.js';
import { registerGradientFixes } from './gradient-fixes.js';
import { registerUnsortedSegmentSumWasm } from './unsorted-segment-sum.js';

/**
 * Fills the gaps of tfjs 4.22 that training hits: wasm kernels (call after
 * importing @tensorflow/tfjs-backend-wasm) and gradients. Idempotent.
 */
export function registerTfjsFixes(): void {
  registerGradientFixes();
  registerUnsortedSegmentSumWasm();
  fixWasmGatherBatchDims();
}
