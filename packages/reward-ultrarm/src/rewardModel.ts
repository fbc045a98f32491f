import { RemaxError, type RewardModel, type TokenBatch, tf } from '@remax/core';
import type { CausalLM } from '@remax/model-mistral';
import { Tokenizer } from '@remax/tokenizer';
import type { Conversation } from './conversation.js';
import { headAtPositions } from './lastPosition.js';
import { checkMicroBatchSize, padRight, scoreInMicroBatches } from './microBatch.js';
import { inspectRewardCheckpoint } from './rewardCheckpoint.js';
import { buildRewardInputs, type RewardInputs } from './rewardInputs.js';
import { loadBackboneAndHead, type ModelSource, ScalarHeadModel } from './scalarHeadModel.js';
import type { TextTokenizer } from './textTokenizer.js';
import { checkIdsAndMask, type IntMatrix, realTokens, toRows } from './tokenRows.js';

/** Default rows per forward pass: 8, from `pnpm bench` on wasm (see README). */
export const DEFAULT_MICRO_BATCH_SIZE = 8;

export interface RewardModelOptions {
  /** Rows per forward pass (default DEFAULT_MICRO_BATCH_SIZE); rows are sorted by length first. */
  microBatchSize?: number;
  /** Longest reward-model input in tokens (default config.max_position_embeddings). */
  maxLength?: number;
}

/** Ids + mask as tensors (TokenBatch) or nested arrays. */
export interface ScoreBatch {
  inputIds: IntMatrix;
  attentionMask: IntMatrix;
}

/** What `scoreConversations` returns. */
export interface ConversationScores {
  /** One reward per conversation, in input order. */
  rewards: Float32Array;
  /** How many rows had their prompt cut from the left to fit maxLength. */
  truncated: number;
  /** Which rows were cut. */
  truncatedRows: number[];
  /** The UltraRM texts that were scored (before truncation). */
  texts: string[];
  /** Reward-model tokens per row after truncation. */
  lengths: number[];
}

/**
 * UltraRM: a Llama backbone (from @remax/model-mistral) and `regression_head`
 * [1, hidden] read at the last position whose attention mask is 1.
 */
export class UltraRewardModel extends ScalarHeadModel implements RewardModel {
  microBatchSize: number;
  readonly maxLength: number;

  constructor(
    backbone: CausalLM,
    head: tf.Variable,
    readonly tokenizer: TextTokenizer,
    protected override readonly source: ModelSource & { vocabSize: number; padId: number },
    options: RewardModelOptions & { maxLength: number },
  ) {
    super(backbone, head, source);
    this.microBatchSize = options.microBatchSize ?? DEFAULT_MICRO_BATCH_SIZE;
    this.maxLength = options.maxLength;
  }

  /**
   * Rewards [B] for token ids in the reward model's vocabulary. Each row is
   * read without its padding (left, right or anywhere: positions come from the
   * mask), rows are grouped into micro-batches by length, and the rewards come
   * back in input order.
   */
  async score(batch: ScoreBatch | TokenBatch): Promise<Float32Array> {
    const ids = toRows(batch.inputIds);
    const mask = toRows(batch.attentionMask);
    checkIdsAndMask(ids, mask);
    return this.scoreRows(ids.map((row, b) => realTokens(row, mask[b] ?? [])));
  }

  /** Re-templates, encodes (BOS, left-truncating prompts to maxLength) and scores. */
  async scoreConversations(conversations: readonly Conversation[]): Promise<ConversationScores> {
    const inputs = this.encodeConversations(conversations);
    const rewards = await this.scoreRows(inputs.inputIds);
    return {
      rewards,
      truncated: inputs.truncatedRows.length,
      truncatedRows: inputs.truncatedRows,
      texts: inputs.texts,
      lengths: inputs.inputIds.map((r) => r.length),
    };
  }

  /** Rewards of unpadded reward-model id rows (what a served /classify request carries). */
  scoreTokenRows(rows: readonly number[][]): Promise<Float32Array> {
    return this.scoreRows(rows);
  }

  /** The reward model's vocabulary size (config.json). */
  get vocabSize(): number {
    return this.source.vocabSize;
  }

  /** The reward-model ids `scoreConversations` would score. */
  encodeConversations(conversations: readonly Conversation[]): RewardInputs {
    return buildRewardInputs(conversations, this.tokenizer, { maxLength: this.maxLength });
  }

  private async scoreRows(rows: readonly number[][]): Promise<Float32Array> {
    rows.forEach((row, b) => {
      const bad = row.findIndex(
        (id) => !Number.isInteger(id) || id < 0 || id >= this.source.vocabSize,
      );
      if (bad >= 0) {
        throw new RemaxError('E_INPUT', 'token id outside the reward model vocabulary', {
          field: `inputIds[${b}]`,
          value: row[bad],
          expected: `an integer in [0, ${this.source.vocabSize})`,
        });
      }
    });
    return scoreInMicroBatches(rows, this.microBatchSize, async (group) => {
      const { inputIds, attentionMask, lastIndex } = padRight(group, this.source.padId);
      const rewards = tf.tidy(() => {
        const hidden = this.backbone.hiddenStates({
          inputIds: tf.tensor2d(inputIds, undefined, 'int32'),
          attentionMask: tf.tensor2d(attentionMask, undefined, 'int32'),
        }); // [b, T, H]
        return headAtPositions(hidden, lastIndex, this.head as tf.Tensor as tf.Tensor2D); // [b]
      });
      try {
        return (await rewards.data()) as Float32Array;
      } finally {
        rewards.dispose();
      }
    });
  }
}

/**
 * Loads UltraRM (or any LlamaRewardModel) from a Hugging Face directory:
 * config.json, weights as `.bin` shards or safetensors, and the tokenizer.
 * Typed errors: no regression head (E_CHECKPOINT), head not [1, hidden]
 * (E_SHAPE), no tokenizer file (E_FILE).
 */
export async function loadRewardModel(
  dir: string,
  options: RewardModelOptions = {},
): Promise<UltraRewardModel> {
  // options first: a bad value must fail before megabytes of weights load
  checkMicroBatchSize(options.microBatchSize ?? DEFAULT_MICRO_BATCH_SIZE);
  if (
    options.maxLength !== undefined &&
    (!Number.isInteger(options.maxLength) || options.maxLength < 2)
  ) {
    throw new RemaxError('E_CONFIG', 'reward maxLength must be an integer >= 2', {
      field: 'maxLength',
      value: options.maxLength,
    });
  }
  const info = await inspectRewardCheckpoint(dir, { needTokenizer: true });
  const maxLength = options.maxLength ?? info.maxPositionEmbeddings ?? 4096;
  const tokenizer = await Tokenizer.fromDir(dir);
  const { backbone, head } = await loadBackboneAndHead(dir, info.headName);
  return new UltraRewardModel(
    backbone,
    head,
    tokenizer,
    { dir, rawConfig: info.rawConfig, vocabSize: info.vocabSize, padId: info.padTokenId ?? 0 },
    { ...options, maxLength },
  );
}

/**
 * The tokenizer and input limit of a reward-model directory without loading
 * its weights (for a reward model served elsewhere: `remoteRewardFn`).
 */
export async function loadRewardTokenizer(
  dir: string,
  options: { maxLength?: number } = {},
): Promise<{ tokenizer: TextTokenizer; maxLength: number }> {
  const info = await inspectRewardCheckpoint(dir, { needTokenizer: true });
  return {
    tokenizer: await Tokenizer.fromDir(dir),
    maxLength: options.maxLength ?? info.maxPositionEmbeddings ?? 4096,
  };
}
