// Rewards from a served reward model: the same decode, UltraRM re-templating
// and left truncation as `makeRewardFn`, then the reward model's token ids to
// vLLM's pooling API for a one-label classifier (POST /classify with
// `use_activation: false`: the raw score, no sigmoid). Serve the converted
// folder (`convertUltraRMForVllm`) with `vllm serve DIR --runner pooling`.

import {
  type EngineEndpoint,
  malformedAnswer,
  mapLimited,
  postEngineJson,
  type RewardFn,
} from '@remax/core';
import { z } from 'zod';
import { conversationsOfBatch } from './policyChat.js';
import { buildRewardInputs } from './rewardInputs.js';
import type { ConversationScores } from './rewardModel.js';
import type { TextTokenizer } from './textTokenizer.js';

/** The reward engine, with UltraRM's input limit and how many rows go in one request. */
export interface RewardEndpoint extends EngineEndpoint {
  /** The server (http://host:port, a trailing /v1 is dropped: /classify is at the root). */
  baseURL: string;
  /** Longest reward-model input in tokens (UltraRM: max_position_embeddings, 4096). */
  maxLength: number;
  /** Rows per /classify request (default 256: one request per rollout, as local scoring does). */
  rowsPerRequest?: number;
}

const classificationSchema = z.looseObject({
  object: z.literal('list'),
  data: z.array(
    z.looseObject({
      index: z.number().int().min(0),
      probs: z.array(z.number()),
      num_classes: z.number().int().optional(),
    }),
  ),
});

export function remoteRewardFn(
  endpoint: RewardEndpoint,
  policyTokenizer: TextTokenizer,
  rewardTokenizer: TextTokenizer,
  onScored?: (scores: ConversationScores) => void,
): RewardFn {
  const perRequest = endpoint.rowsPerRequest ?? 256;
  // vLLM's pooling routes sit at the server root (/classify), not under the OpenAI /v1 prefix.
  const server = { ...endpoint, baseURL: endpoint.baseURL.replace(/\/v1\/?$/, '') };
  return async (batch) => {
    const conversations = conversationsOfBatch(batch, policyTokenizer);
    const inputs = buildRewardInputs(conversations, rewardTokenizer, {
      maxLength: endpoint.maxLength,
    });
    const chunks: number[][][] = [];
    for (let i = 0; i < inputs.inputIds.length; i += perRequest) {
      chunks.push(inputs.inputIds.slice(i, i + perRequest));
    }
    const parts = await mapLimited(chunks, endpoint.maxConcurrency ?? 8, async (rows, c) => {
      const what = `classify of ${rows.length} reward-model rows (chunk ${c})`;
      const json = await postEngineJson(
        server,
        '/classify',
        { model: endpoint.model, input: rows, use_activation: false },
        what,
      );
      return readScores(json, rows.length, what);
    });
    const rewards = new Float32Array(inputs.inputIds.length);
    let at = 0;
    for (const part of parts) {
      rewards.set(part, at);
      at += part.length;
    }
    onScored?.({
      rewards,
      truncated: inputs.truncatedRows.length,
      truncatedRows: inputs.truncatedRows,
      texts: inputs.texts,
      lengths: inputs.inputIds.map((r) => r.length),
    });
    return rewards;
  };
}

/** One raw score per row, by `index`; anything else is a typed E_ENGINE error. */
export function readScores(json: unknown, rows: number, what: string): Float32Array {
  const fail = (message: string, field: string, value: unknown, expected: string) =>
    malformedAnswer(what, message, field, value, expected);
  const parsed = classificationSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw fail(
      issue?.message ?? 'not a ClassificationResponse',
      issue?.path.join('.') || 'body',
      undefined,
      "vLLM's ClassificationResponse {object: 'list', data: [{index, probs}]}",
    );
  }
  const data = parsed.data.data;
  if (data.length !== rows)
    throw fail('wrong number of scores', 'data', data.length, `${rows} (one per input row)`);
  const out = new Float32Array(rows);
  const seen = new Array<boolean>(rows).fill(false);
  for (const d of data) {
    if (d.index >= rows || seen[d.index]) {
      throw fail(
        'index out of range or repeated',
        `data[${d.index}].index`,
        d.index,
        `each of 0..${rows - 1} once`,
      );
    }
    const score = d.probs[0];
    if (d.probs.length !== 1 || score === undefined || !Number.isFinite(score)) {
      throw fail(
        'not one finite score',
        `data[${d.index}].probs`,
        d.probs,
        'one raw score (a num_labels: 1 classifier)',
      );
    }
    seen[d.index] = true;
    out[d.index] = score;
  }
  return out;
}
