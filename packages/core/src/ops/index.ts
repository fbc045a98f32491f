export { allocateHost, hostView } from '../kernels/hostMemory.js';
export type { ChunkOptions } from './chunking.js';
export { type CustomOpResult, customOp } from './customOp.js';
export { entropyFromLogits } from './entropy.js';
export { fullKL } from './fullKL.js';
export { type LMHead, logprobsFromHidden, NO_TARGET } from './headLogprobs.js';
export { linear } from './linear.js';
export { logprobsFromLogits } from './logprobs.js';
export { type NextTokenScores, nextTokenScores } from './nextTokenScores.js';
