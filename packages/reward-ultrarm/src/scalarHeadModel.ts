import { RemaxError, type tf } from '@remax/core';
import { type CausalLM, loadCausalLM } from '@remax/model-mistral';
import { REGRESSION_HEAD } from './rewardCheckpoint.js';
import { type SaveOptions, saveRewardDirectory } from './saveRewardDirectory.js';

/** Where a model came from: its directory and config.json, kept to save it back. */
export interface ModelSource {
  dir: string;
  rawConfig: Record<string, unknown>;
}

/**
 * A Llama backbone with a scalar `regression_head` [1, hidden]: what the reward
 * model and the critic share (weights by HF name, HF-directory saving, disposal).
 */
export abstract class ScalarHeadModel {
  constructor(
    readonly backbone: CausalLM,
    readonly head: tf.Variable,
    protected readonly source: ModelSource,
  ) {}

  /** Backbone weights and the head, by Hugging Face name. */
  parameters(): Map<string, tf.Variable> {
    return new Map([...this.backbone.parameters(), [REGRESSION_HEAD, this.head]]);
  }

  /**
   * What an optimizer trains: every weight, or, once the backbone has LoRA adapters
   * (addLoRA / loadAdapter from @remax/model-mistral on `backbone`), the adapters by PEFT
   * key plus the head (PEFT's modules_to_save for a score head): the backbone is frozen.
   */
  trainableParameters(): Map<string, tf.Variable> {
    const adapters = this.backbone.adapterParameters();
    if (adapters.size === 0) return this.parameters();
    return new Map([...adapters, [REGRESSION_HEAD, this.head]]);
  }

  /** Writes a Hugging Face LlamaRewardModel directory that loadRewardModel / loadValueModel read back. */
  save(dir: string, options: SaveOptions = {}): Promise<void> {
    return saveRewardDirectory(
      dir,
      {
        parameters: this.parameters(),
        rawConfig: this.source.rawConfig,
        sourceDir: this.source.dir,
      },
      options,
    );
  }

  dispose(): void {
    this.backbone.dispose();
  }
}

/** The Llama backbone (no LM head) and the scalar head (`regression_head.weight`, or `score.weight` once converted for vLLM). */
export async function loadBackboneAndHead(
  dir: string,
  headName: string = REGRESSION_HEAD,
): Promise<{ backbone: CausalLM; head: tf.Variable }> {
  const backbone = await loadCausalLM(dir, { withLMHead: false, extraTensors: [headName] });
  const head = backbone.extra.get(headName);
  if (head === undefined) {
    backbone.dispose();
    throw new RemaxError('E_CHECKPOINT', 'the backbone loader did not return the regression head', {
      file: dir,
      field: headName,
    });
  }
  return { backbone, head };
}
