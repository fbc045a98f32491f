// The request queue of `serve`: requests that arrive while a decode runs wait,
// then everything queued goes into the next batched `generate` call (one per
// group of compatible settings), so 8 concurrent clients get batch-8 speed.
// Identical prompts are prefilled once (e.g. ReMax's sampled and greedy
// requests for the same prompt).

import type { tf } from '@remax/core';
import { generate } from '../generate.js';
import type { DecodingModel } from '../model.js';

/** One request's decoding work: every prompt gets `n` rows. */
export interface DecodeJob {
  prompts: number[][];
  n: number;
  /** null: greedy rows; else row j of prompt p uses sequenceRng(seeds[p] + j). */
  seeds: number[] | null;
  temperature: number;
  topP: number;
  topK: number;
  maxTokens: number;
  /** Ids that end a row (the model's EOS unless ignore_eos, plus stop_token_ids). */
  stopIds: number[];
  logitBias: [number, number][];
  /** Top alternatives wanted per step (vLLM's logprobs N; 0 = only the chosen token). */
  topLogprobs: number;
}

/** One generated sequence. */
export interface DecodedRow {
  tokens: number[];
  logprobs: number[];
  /** [id, logprob] alternatives per step (empty lists when topLogprobs was 0). */
  top: [number, number][][];
  finished: 'stop' | 'length';
}

interface Pending {
  job: DecodeJob;
  resolve: (rows: DecodedRow[][]) => void;
  reject: (e: unknown) => void;
}

export class DecodeBatcher {
  private queue: Pending[] = [];
  private running = false;
  private timer: NodeJS.Timeout | null = null;
  private windowStart = 0;
  /** Batches run so far and the rows in each (for tests and logs). */
  readonly batchSizes: number[] = [];

  constructor(
    private readonly model: DecodingModel,
    private readonly padId: number,
    private readonly maxBatchRows = 64,
    /**
     * How long an idle server waits for more requests before decoding: each
     * arrival extends the wait by windowMs, up to maxWaitMs after the first.
     */
    private readonly windowMs = 20,
    private readonly maxWaitMs = 250,
  ) {}

  /** Resolves once nothing is queued or decoding (e.g. before an adapter's model is freed). */
  async idle(): Promise<void> {
    while (this.running || this.queue.length > 0 || this.timer !== null) {
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Rows [prompt][sample] of one job, once its batch ran. */
  submit(job: DecodeJob): Promise<DecodedRow[][]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      // Requests sent together arrive spread over milliseconds (more on a busy
      // machine): wait while they keep coming so they share one decode.
      if (this.running) return;
      const now = performance.now();
      if (this.timer === null) this.windowStart = now;
      else clearTimeout(this.timer);
      const wait = Math.min(this.windowMs, this.windowStart + this.maxWaitMs - now);
      this.timer = setTimeout(
        () => {
          this.timer = null;
          void this.pump();
        },
        Math.max(0, wait),
      );
    });
  }

  private async pump(): Promise<void> {
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const taken = this.take();
        for (const group of groupJobs(taken)) await this.runGroup(group);
      }
    } finally {
      this.running = false;
    }
  }

  /** Queued jobs up to maxBatchRows rows (at least one job). */
  private take(): Pending[] {
    const out: Pending[] = [];
    let rows = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0] as Pending;
      const size = next.job.prompts.length * next.job.n;
      if (out.length > 0 && rows + size > this.maxBatchRows) break;
      out.push(next);
      rows += size;
      this.queue.shift();
    }
    return out;
  }

  private async runGroup(group: Pending[]): Promise<void> {
    try {
      const results = await this.decode(group.map((p) => p.job));
      group.forEach((p, i) => {
        p.resolve(results[i] as DecodedRow[][]);
      });
    } catch (e) {
      for (const p of group) p.reject(e);
    }
  }

  private async decode(jobs: DecodeJob[]): Promise<DecodedRow[][][]> {
    const first = jobs[0] as DecodeJob;
    const sampled = jobs.find((j) => j.seeds !== null);
    const distinct = new Map<string, number>();
    const prompts: number[][] = [];
    const rowPlan: { prompt: number; seed: number | null }[] = [];
    const owners: { job: number; prompt: number }[] = [];
    jobs.forEach((job, ji) => {
      job.prompts.forEach((ids, p) => {
        const key = ids.join(',');
        let index = distinct.get(key);
        if (index === undefined) {
          index = prompts.length;
          distinct.set(key, index);
          prompts.push(ids);
        }
        for (let j = 0; j < job.n; j++) {
          rowPlan.push({ prompt: index, seed: job.seeds ? (job.seeds[p] as number) + j : null });
          owners.push({ job: ji, prompt: p });
        }
      });
    });
    this.batchSizes.push(rowPlan.length);
    const width = Math.max(...prompts.map((p) => p.length));
    const inputIds = prompts.map((p) => [...new Array<number>(width - p.length).fill(0), ...p]);
    const attentionMask = prompts.map((p) => [
      ...new Array<number>(width - p.length).fill(0),
      ...new Array<number>(p.length).fill(1),
    ]);
    const topLogprobs = Math.max(...jobs.map((j) => j.topLogprobs));
    const result = await generate(
      this.model,
      { inputIds, attentionMask },
      {
        maxNewTokens: first.maxTokens,
        temperature: sampled?.temperature ?? 1,
        topP: sampled?.topP ?? 1,
        topK: sampled?.topK ?? 0,
        eosTokenId: first.stopIds,
        padTokenId: this.padId,
        returnLogprobs: true,
        rowPlan,
        topLogprobs,
        ...(first.logitBias.length > 0 ? { logitBias: new Map(first.logitBias) } : {}),
      },
    );
    try {
      const lp = (await (result.logprobs as tf.Tensor2D).data()) as Float32Array;
      const R = result.newTokens;
      const out: DecodedRow[][][] = jobs.map((job) => job.prompts.map(() => []));
      owners.forEach(({ job, prompt }, r) => {
        const len = result.responseLengths[r] as number;
        const want = jobs[job]?.topLogprobs ?? 0;
        out[job]?.[prompt]?.push({
          tokens: result.responses[r] as number[],
          logprobs: Array.from(lp.subarray(r * R, r * R + len)),
          top: (result.topLogprobs?.[r] ?? new Array(len).fill([])).map((t) => t.slice(0, want)),
          finished: result.finishReason[r] === 'eos' ? 'stop' : 'length',
        });
      });
      return out;
    } finally {
      result.dispose();
    }
  }
}

/**
 * Jobs that can share one `generate` call: same max_tokens, stop ids and
 * logit bias; sampled jobs also the same temperature / top-p / top-k (greedy
 * jobs ignore those and join any group with the same rest).
 */
function groupJobs(pending: Pending[]): Pending[][] {
  const groups: { key: string; sampling: string | null; items: Pending[] }[] = [];
  for (const p of pending) {
    const j = p.job;
    const key = JSON.stringify([j.maxTokens, j.stopIds, j.logitBias]);
    const sampling = j.seeds ? JSON.stringify([j.temperature, j.topP, j.topK]) : null;
    const group = groups.find(
      (g) => g.key === key && (sampling === null || g.sampling === null || g.sampling === sampling),
    );
    if (group) {
      group.items.push(p);
      group.sampling ??= sampling;
    } else {
      groups.push({ key, sampling, items: [p] });
    }
  }
  return groups.map((g) => g.items);
}
