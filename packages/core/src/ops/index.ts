export type { ChunkOptions } from './chunking.js';
export { type CustomOpResult, customOp } from './customOp.js';
export { entropyFromLogits } from './entropy.js';
export { fullKL } from './fullKL.js';
export { hostView } from './hostMemory.js';
export { linear } from './linear.js';
export { logprobsFromLogits } from './logprobs.js';
