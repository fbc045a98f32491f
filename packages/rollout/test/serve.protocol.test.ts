// `serve` speaks vLLM's protocol: response shapes field by field, vLLM's
// validation errors ({error: {message, type, param, code}}), the Bearer key,
// /v1/models, /health, and the LoRA endpoints.
import { initBackend } from '@remax/core';
import type { CausalLM } from '@remax/model-mistral';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecodeBatcher, type RunningServer } from '../src/index.js';
import { fixtureDir, goldenGreedy, loadCausalLM, serveFixture } from './serveFixture.js';

const NAME = 'tiny-mistral';
const KEY = 'test-key';
let model: CausalLM;
let server: RunningServer;

beforeAll(async () => {
  await initBackend();
  model = await loadCausalLM(fixtureDir(NAME));
  server = await serveFixture(NAME, model, { apiKey: KEY, enableLora: true });
});

afterAll(async () => {
  await server?.close();
  model?.dispose();
});

async function call(path: string, body?: unknown, key: string | null = KEY) {
  const res = await fetch(`${server.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      'content-type': 'application/json',
      ...(key ? { authorization: `Bearer ${key}` } : {}),
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}

const prompt = () => (goldenGreedy(NAME)[0] as { prompt_ids: number[] }).prompt_ids;

describe('serve: vLLM protocol', () => {
  it('/health needs no key; every /v1 route does (401 {"error": "Unauthorized"})', async () => {
    expect((await call('/health', undefined, null)).status).toBe(200);
    expect(await call('/v1/models', undefined, null)).toEqual({
      status: 401,
      body: { error: 'Unauthorized' },
    });
    expect((await call('/v1/models', undefined, 'wrong')).status).toBe(401);
  });

  it('/v1/models lists the served model as a ModelCard', async () => {
    const { status, body } = await call('/v1/models');
    expect(status).toBe(200);
    expect(body.object).toBe('list');
    const card = (body.data as Record<string, unknown>[])[0];
    expect(Object.keys(card ?? {})).toEqual([
      'id',
      'object',
      'created',
      'owned_by',
      'root',
      'parent',
      'max_model_len',
      'permission',
    ]);
    expect(card).toMatchObject({ id: NAME, object: 'model', owned_by: 'vllm', parent: null });
    expect(((card ?? {}).permission as Record<string, unknown>[])[0]).toMatchObject({
      object: 'model_permission',
      allow_sampling: true,
      allow_logprobs: true,
    });
  });

  it('a completion has vLLM CompletionResponse fields, default max_tokens 16', async () => {
    const { status, body } = await call('/v1/completions', {
      model: NAME,
      prompt: prompt(),
      temperature: 0,
      ignore_eos: true,
      logprobs: 2,
      return_tokens_as_token_ids: true,
      return_token_ids: true,
    });
    expect(status).toBe(200);
    expect(Object.keys(body ?? {})).toEqual([
      'id',
      'object',
      'created',
      'model',
      'choices',
      'service_tier',
      'system_fingerprint',
      'usage',
      'kv_transfer_params',
    ]);
    expect(body.object).toBe('text_completion');
    expect(String(body.id)).toMatch(/^cmpl-/);
    const c = (body.choices as Record<string, unknown>[])[0] as Record<string, unknown>;
    expect(Object.keys(c)).toEqual([
      'index',
      'text',
      'logprobs',
      'finish_reason',
      'stop_reason',
      'token_ids',
      'prompt_logprobs',
      'prompt_token_ids',
    ]);
    const ids = c.token_ids as number[];
    expect(ids).toHaveLength(16);
    expect(c.finish_reason).toBe('length');
    expect(c.prompt_token_ids).toEqual(prompt());
    const lp = c.logprobs as {
      tokens: string[];
      token_logprobs: number[];
      top_logprobs: Record<string, number>[];
      text_offset: number[];
    };
    expect(lp.tokens).toEqual(ids.map((id) => `token_id:${id}`));
    expect(lp.token_logprobs).toHaveLength(16);
    // the chosen token first, then the top 2 (greedy: the chosen one is the top one)
    for (const [i, top] of lp.top_logprobs.entries()) {
      const keys = Object.keys(top);
      expect(keys[0]).toBe(`token_id:${ids[i]}`);
      expect(keys).toHaveLength(2);
      expect(top[keys[0] as string]).toBe(lp.token_logprobs[i]);
      expect(top[keys[0] as string]).toBeGreaterThanOrEqual(top[keys[1] as string] as number);
    }
    expect(body.usage).toEqual({
      prompt_tokens: prompt().length,
      total_tokens: prompt().length + 16,
      completion_tokens: 16,
      prompt_tokens_details: null,
    });
  });

  it('n samples with a seed are reproducible; list-of-lists prompts give prompt-major choices', async () => {
    const req = {
      model: NAME,
      prompt: [prompt(), prompt().slice(1)],
      n: 2,
      seed: 7,
      max_tokens: 5,
      return_token_ids: true,
      ignore_eos: true,
    };
    const a = await call('/v1/completions', req);
    const b = await call('/v1/completions', req);
    expect(a.status).toBe(200);
    const ids = (r: typeof a) =>
      (r.body.choices as { index: number; token_ids: number[] }[]).map((c) => [
        c.index,
        c.token_ids,
      ]);
    expect(ids(a)).toEqual(ids(b));
    expect(ids(a).map(([i]) => i)).toEqual([0, 1, 2, 3]);
  });

  it('stop_token_ids end a row with finish_reason stop and stop_reason = the id', async () => {
    const first = await call('/v1/completions', {
      prompt: prompt(),
      temperature: 0,
      max_tokens: 4,
      return_token_ids: true,
      ignore_eos: true,
    });
    const ids = (first.body.choices as { token_ids: number[] }[])[0]?.token_ids as number[];
    const stop = ids[2] as number;
    const { body } = await call('/v1/completions', {
      prompt: prompt(),
      temperature: 0,
      max_tokens: 4,
      return_token_ids: true,
      ignore_eos: true,
      stop_token_ids: [stop],
    });
    const c = (body.choices as Record<string, unknown>[])[0] ?? {};
    expect(c.finish_reason).toBe('stop');
    expect(c.stop_reason).toBe(stop);
    expect((c.token_ids as number[]).at(-1)).toBe(stop);
  });

  it('logit_bias changes the greedy choice', async () => {
    const { body } = await call('/v1/completions', {
      prompt: prompt(),
      temperature: 0,
      max_tokens: 1,
      return_token_ids: true,
      logit_bias: { '1234': 100 },
    });
    expect((body.choices as { token_ids: number[] }[])[0]?.token_ids).toEqual([1234]);
  });

  it('text prompts are tokenized with BOS', async () => {
    const { status, body } = await call('/v1/completions', {
      prompt: 'Hello',
      max_tokens: 2,
      temperature: 0,
      return_token_ids: true,
    });
    expect(status).toBe(200);
    expect((body.choices as { prompt_token_ids: number[] }[])[0]?.prompt_token_ids[0]).toBe(1);
  });

  it.each([
    [
      { prompt: [1, 2], temperature: 0, n: 2 },
      400,
      'n must be 1 when using greedy sampling, got 2.',
      'n',
    ],
    [{ prompt: [1, 2], max_tokens: 0 }, 400, 'max_tokens must be at least 1, got 0.', 'max_tokens'],
    [{ prompt: [1, 2], n: 0 }, 400, 'n must be at least 1, got 0.', 'n'],
    [{ prompt: [1, 2], top_p: 0 }, 400, 'top_p must be in (0, 1], got 0.', 'top_p'],
    [
      { prompt: [1, 2], temperature: -1 },
      400,
      'temperature must be non-negative, got -1.',
      'temperature',
    ],
    [
      { prompt: [1, 2], logprobs: 21 },
      400,
      'Requested sample logprobs of 21, which is greater than max allowed: 20',
      'logprobs',
    ],
    [{ prompt: [1, 99999] }, 400, 'Token id 99999 is out of vocabulary', 'prompt'],
    [{ prompt: [1, 2], logit_bias: { '99999': 1 } }, 400, 'out-of-vocab', 'logit_bias'],
    [{ prompt: [1, 2], bogus_field: 1 }, 400, 'bogus_field', null],
    [{ prompt: [1, 2], stream: true }, 400, 'stream', 'stream'],
    [{ prompt: [1, 2], model: 'nope' }, 404, 'The model `nope` does not exist.', 'model'],
  ])("%j -> %i with vLLM's error body", async (req, status, message, param) => {
    const { status: got, body } = await call('/v1/completions', req);
    expect(got).toBe(status);
    const error = body.error as {
      message: string;
      type: string;
      param: string | null;
      code: number;
    };
    expect(Object.keys(error)).toEqual(['message', 'type', 'param', 'code']);
    expect(error.message).toContain(message);
    expect(error.code).toBe(status);
    expect(error.type).toBe(status === 404 ? 'NotFoundError' : 'BadRequestError');
    if (param !== null) expect(error.param).toBe(param);
  });

  it('invalid JSON is a 400, a non-JSON content type a 415', async () => {
    expect((await call('/v1/completions', '{"prompt": [1,')).status).toBe(400);
    const res = await fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'text/plain' },
      body: '{}',
    });
    expect(res.status).toBe(415);
  });

  it("LoRA endpoints: validation, then vLLM's errors when no adapter loader exists", async () => {
    expect((await call('/v1/load_lora_adapter', { lora_name: '', lora_path: '/x' })).status).toBe(
      400,
    );
    const load = await call('/v1/load_lora_adapter', { lora_name: 'a', lora_path: '/x' });
    expect(load.status).toBe(500);
    expect((load.body.error as { type: string }).type).toBe('InternalServerError');
    const unload = await call('/v1/unload_lora_adapter', { lora_name: 'a' });
    expect(unload.status).toBe(404);
    expect((unload.body.error as { message: string }).message).toBe(
      "The lora adapter 'a' cannot be found.",
    );
  });
});

describe('serve batching', () => {
  it('8 concurrent clients are served by one batched decode of 8 rows', async () => {
    const batched = await serveFixture(NAME, model, { batchWindowMs: 200 });
    try {
      const before = batched.batchSizes.length;
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          fetch(`${batched.url}/v1/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ prompt: prompt(), max_tokens: 3, seed: i, ignore_eos: true }),
          }),
        ),
      );
      expect(answers.map((a) => a.status)).toEqual(new Array(8).fill(200));
      expect(batched.batchSizes.slice(before)).toEqual([8]);
    } finally {
      await batched.close();
    }
  });
});

describe('DecodeBatcher', () => {
  it('runs jobs submitted together as one batch, each job getting its own rows', async () => {
    const batcher = new DecodeBatcher(model, 0);
    const job = (seed: number | null, n: number) => ({
      prompts: [prompt()],
      n,
      seeds: seed === null ? null : [seed],
      temperature: 1,
      topP: 1,
      topK: 0,
      maxTokens: 3,
      stopIds: [],
      logitBias: [],
      topLogprobs: 0,
    });
    const [a, b, c] = await Promise.all([
      batcher.submit(job(5, 2)),
      batcher.submit(job(9, 1)),
      batcher.submit(job(null, 1)),
    ]);
    expect(batcher.batchSizes).toEqual([4]);
    const alone = await batcher.submit(job(5, 2));
    expect(alone[0]?.map((r) => r.tokens)).toEqual(a?.[0]?.map((r) => r.tokens));
    expect(b?.[0]).toHaveLength(1);
    expect(c?.[0]?.[0]?.tokens).toHaveLength(3);
  });
});
