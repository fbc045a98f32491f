// openAIRolloutGenerator against scripted fake engines on 127.0.0.1: retries,
// timeouts and malformed answers end in typed E_ENGINE errors.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { initBackend, isRemaxError, tf } from '@remax/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type OpenAIEndpoint, openAIRolloutGenerator } from '../src/index.js';

type Script = (
  attempt: number,
  body: { n: number; max_tokens: number },
) => {
  status?: number;
  body?: string;
  delayMs?: number;
};

let server: Server | null = null;

async function fakeEngine(script: Script): Promise<{ url: string; attempts: () => number }> {
  let attempts = 0;
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      const answer = script(attempts++, JSON.parse(raw));
      setTimeout(() => {
        if (res.destroyed) return;
        res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' });
        res.end(answer.body ?? '');
      }, answer.delayMs ?? 0);
    });
  });
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/v1`, attempts: () => attempts };
}

afterEach(async () => {
  const s = server;
  server = null;
  if (s)
    await new Promise<void>((r) => {
      s.close(() => r());
      s.closeAllConnections();
    });
});

beforeAll(async () => {
  await initBackend();
});

const settings = { maxNewTokens: 3, eosTokenId: 2, returnLogprobs: true };

function answer(choices: unknown[]) {
  return JSON.stringify({
    id: 'cmpl-x',
    object: 'text_completion',
    created: 0,
    model: 'm',
    choices,
    usage: {},
  });
}

function choice(index: number, ids: number[], finish: string | null, extra: object = {}) {
  return {
    index,
    text: '',
    token_ids: ids,
    finish_reason: finish,
    logprobs: {
      token_logprobs: ids.map(() => -0.5),
      tokens: [],
      text_offset: [],
      top_logprobs: [],
    },
    ...extra,
  };
}

async function run(endpoint: OpenAIEndpoint, k = 1) {
  const prompts = {
    inputIds: tf.tensor2d([[0, 5, 6]], undefined, 'int32'),
    attentionMask: tf.tensor2d([[0, 1, 1]], undefined, 'int32'),
  };
  try {
    const r = await openAIRolloutGenerator(endpoint, settings)(prompts, {
      samplesPerPrompt: k,
      greedy: false,
      seed: 1,
    });
    const out = { ids: r.sampled.inputIds.arraySync(), lengths: r.sampled.responseLengths };
    tf.dispose([r.sampled.inputIds, r.sampled.attentionMask, r.sampled.logprobs as tf.Tensor]);
    return out;
  } finally {
    tf.dispose([prompts.inputIds, prompts.attentionMask]);
  }
}

async function engineError(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(
    () => new Error('expected an E_ENGINE error'),
    (err: unknown) => err as Error,
  );
  expect(isRemaxError(e, 'E_ENGINE'), String(e)).toBe(true);
  return e;
}

describe('openAIRolloutGenerator failures', () => {
  it('retries 503 and 429 with backoff, then succeeds', async () => {
    const fake = await fakeEngine((attempt) =>
      attempt < 2
        ? { status: attempt === 0 ? 503 : 429, body: '{"error":{"message":"busy"}}' }
        : { body: answer([choice(0, [7, 2], 'stop')]) },
    );
    const out = await run({ baseURL: fake.url, model: 'm', maxRetries: 2, backoffMs: 1 });
    expect(fake.attempts()).toBe(3);
    expect(out.ids).toEqual([[0, 5, 6, 7, 2]]);
    expect(out.lengths).toEqual([2]);
  });

  it('gives up after maxRetries with E_ENGINE naming the URL and the status', async () => {
    const fake = await fakeEngine(() => ({
      status: 500,
      body: '{"error":{"message":"boom","type":"InternalServerError"}}',
    }));
    const e = await engineError(
      run({ baseURL: fake.url, model: 'm', maxRetries: 2, backoffMs: 1 }),
    );
    expect(fake.attempts()).toBe(3);
    expect(e.message).toContain(`${fake.url}/completions`);
    expect(e.message).toContain('500');
    expect(e.message).toContain('boom');
  });

  it('does not retry a 400 (the request is wrong)', async () => {
    const fake = await fakeEngine(() => ({
      status: 400,
      body: '{"error":{"message":"n must be at least 1","type":"BadRequestError","param":"n","code":400}}',
    }));
    const e = await engineError(
      run({ baseURL: fake.url, model: 'm', maxRetries: 3, backoffMs: 1 }),
    );
    expect(fake.attempts()).toBe(1);
    expect(e.message).toContain('n must be at least 1');
  });

  it('connection refused: retries, then E_ENGINE', async () => {
    const fake = await fakeEngine(() => ({ body: '' }));
    const url = fake.url;
    await new Promise<void>((r) => server?.close(() => r()));
    server = null;
    const e = await engineError(run({ baseURL: url, model: 'm', maxRetries: 1, backoffMs: 1 }));
    expect(e.message).toContain('connect');
  });

  it('a slow answer times out', async () => {
    const fake = await fakeEngine(() => ({
      body: answer([choice(0, [7, 2], 'stop')]),
      delayMs: 2000,
    }));
    const e = await engineError(
      run({ baseURL: fake.url, model: 'm', maxRetries: 0, timeoutMs: 100, backoffMs: 1 }),
    );
    expect(e.message).toContain('timeout');
  });

  it.each([
    ['truncated JSON', () => answer([choice(0, [7, 2], 'stop')]).slice(0, 40), 'not valid JSON'],
    [
      'wrong n',
      () => answer([choice(0, [7, 2], 'stop'), choice(1, [7, 2], 'stop')]),
      'wrong number of choices',
    ],
    ['out-of-range ids', () => answer([choice(0, [7, 99999], 'length')]), 'outside the vocabulary'],
    ['no finish reason', () => answer([choice(0, [7, 8], null)]), 'without a finish reason'],
    [
      'no token ids',
      () => answer([{ ...choice(0, [7, 2], 'stop'), token_ids: null }]),
      'no token ids',
    ],
    ['stop without a stop token', () => answer([choice(0, [7, 8], 'stop')]), 'not a stop id'],
    [
      'length before max_tokens',
      () => answer([choice(0, [7], 'length')]),
      "'length' before max_tokens",
    ],
    [
      'logprobs missing',
      () => answer([{ ...choice(0, [7, 2], 'stop'), logprobs: null }]),
      'logprobs missing',
    ],
    [
      'repeated index',
      () => answer([choice(0, [7, 2], 'stop'), choice(0, [7, 2], 'stop')]),
      'out of range or repeated',
    ],
  ])('%s is a typed error, not a dropped row', async (_, body, message) => {
    const fake = await fakeEngine(() => ({ body: body() }));
    const k = _ === 'repeated index' ? 2 : 1;
    const e = await engineError(
      run({ baseURL: fake.url, model: 'm', maxRetries: 2, backoffMs: 1, vocabSize: 32000 }, k),
    );
    expect(e.message).toContain(message);
    expect(fake.attempts()).toBe(1);
  });

  it('reorders nothing: choices come back by their index', async () => {
    const fake = await fakeEngine(() => ({
      body: answer([choice(1, [9, 9, 9], 'length'), choice(0, [7, 2], 'stop')]),
    }));
    const out = await run({ baseURL: fake.url, model: 'm', vocabSize: 32000 }, 2);
    expect(out.ids).toEqual([
      [0, 5, 6, 7, 2, 2],
      [0, 5, 6, 9, 9, 9],
    ]);
  });
});
