/** Marks a position without a target token in `logprobsFromHidden`. */
export const NO_TARGET = -1;
