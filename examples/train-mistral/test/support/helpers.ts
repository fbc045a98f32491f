/** The error `fn` throws (the test fails when it does not throw). */
export function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

/** A fast variant of the demo: 2 prompts per step (micro-batches of 1), 4 new tokens. */
export const FAST = [
  'train.batch_size=2',
  'train.micro_batch_size=1',
  'data.max_answer_seq=4',
  'data.max_prompt_seq=32',
  'data.num_prompts=16',
  'data.eval_prompts=0',
  'output.checkpoint_every=0',
  'output.report=false',
];
