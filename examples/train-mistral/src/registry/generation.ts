/** What one step generates per prompt: `samplesPerPrompt` sampled rows, plus a greedy row when `greedy`. */
export interface GenerationShape {
  samplesPerPrompt: number;
  greedy: boolean;
}

/** Responses one prompt costs per step (sampled + greedy). */
export function responsesPerPrompt(shape: GenerationShape): number {
  return shape.samplesPerPrompt + (shape.greedy ? 1 : 0);
}

/** `16 x (1 + 1 greedy)`, `8 x 4`: prompts per step times responses per prompt. */
export function describeShape(prompts: number, shape: GenerationShape): string {
  return shape.greedy
    ? `${prompts} x (${shape.samplesPerPrompt} + 1 greedy)`
    : `${prompts} x ${shape.samplesPerPrompt}`;
}
