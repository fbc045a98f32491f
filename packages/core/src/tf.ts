// The one TensorFlow.js namespace every @remax package uses. Importing the union
// package (not the ESM sub-packages) is what registers gradients and chained ops;
// every package imports `tf` from here so only one engine ever loads.
import * as tf from '@tensorflow/tfjs';

export { tf };
