// JSON over HTTP to a serving engine (vLLM's OpenAI-compatible server or
// `remax-train-mistral serve`), shared by the remote rollout and reward
// clients: bounded retries with backoff on what a restart or overload looks
// like (connection refused/reset, timeout, 429, 5xx), then one typed E_ENGINE
// error naming the URL, the status and the request.

import { describeValue, RemaxError } from './errors.js';

/** Where an engine listens and how hard to try. */
export interface EngineEndpoint {
  /** e.g. http://127.0.0.1:8000/v1 (vLLM's OpenAI base URL, `/v1` included). */
  baseURL: string;
  /** The served model name (`--served-model-name`). */
  model: string;
  /** Sent as `Authorization: Bearer <apiKey>` (vLLM's `--api-key`). */
  apiKey?: string;
  /** Per-request timeout in ms (default 600000). */
  timeoutMs?: number;
  /** Retries after the first try (default 3). */
  maxRetries?: number;
  /** Requests in flight at most (default 8). */
  maxConcurrency?: number;
  /** First backoff in ms, doubled per retry (default 500). */
  backoffMs?: number;
}

/** The parts of a failed exchange an E_ENGINE error names. */
export interface EngineFailure {
  url: string;
  status: number | 'connection' | 'timeout';
  message: string;
}

const DEFAULT_TIMEOUT_MS = 600_000;
const DEFAULT_RETRIES = 3;
const DEFAULT_BACKOFF_MS = 500;

/** Whether a status is worth retrying: a proxy's request timeout (408), overload (429), server errors (5xx). */
function retryable(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * POSTs `body` as JSON to `baseURL + path` and returns the parsed JSON answer.
 * 4xx other than 429 fail at once (the request is wrong, retrying cannot help);
 * the engine's own error message ({error: {message}} in vLLM) is kept.
 */
export async function postEngineJson(
  endpoint: EngineEndpoint,
  path: string,
  body: unknown,
  describe: string,
): Promise<unknown> {
  return postEngine(endpoint, path, body, describe, true);
}

/**
 * As postEngineJson, for endpoints that answer plain text (vLLM's
 * /v1/load_lora_adapter and /v1/unload_lora_adapter): the 2xx body as text.
 */
export async function postEngineText(
  endpoint: EngineEndpoint,
  path: string,
  body: unknown,
  describe: string,
): Promise<string> {
  return (await postEngine(endpoint, path, body, describe, false)) as string;
}

async function postEngine(
  endpoint: EngineEndpoint,
  path: string,
  body: unknown,
  describe: string,
  asJson: boolean,
): Promise<unknown> {
  const url = joinURL(endpoint.baseURL, path);
  const retries = endpoint.maxRetries ?? DEFAULT_RETRIES;
  const timeoutMs = endpoint.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const backoff = endpoint.backoffMs ?? DEFAULT_BACKOFF_MS;
  const payload = JSON.stringify(body);
  let last: EngineFailure | undefined;
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) await sleep(backoff * 2 ** (attempt - 1));
    const outcome = await tryOnce(url, payload, endpoint.apiKey, timeoutMs, asJson);
    if ('value' in outcome) return outcome.value;
    last = outcome.failure;
    if (!outcome.retry) break;
  }
  const failure = last as EngineFailure;
  throw new RemaxError('E_ENGINE', `engine request failed: ${failure.message}`, {
    field: `POST ${url}`,
    value: { status: failure.status, request: describe, attempts: retriesUsed(last, retries) },
    expected: 'a running engine answering 2xx JSON (is the server up? see docs/scaling-out.md)',
  });
}

function retriesUsed(last: EngineFailure | undefined, retries: number): number {
  if (!last) return 0;
  return typeof last.status === 'number' && !retryable(last.status) ? 1 : retries + 1;
}

type Outcome = { value: unknown } | { failure: EngineFailure; retry: boolean };

async function tryOnce(
  url: string,
  payload: string,
  apiKey: string | undefined,
  timeoutMs: number,
  asJson: boolean,
): Promise<Outcome> {
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
      },
      body: payload,
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await response.text();
  } catch (e) {
    const timedOut = e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError');
    return {
      failure: {
        url,
        status: timedOut ? 'timeout' : 'connection',
        message: timedOut ? `no answer within ${timeoutMs} ms` : connectionMessage(e),
      },
      retry: true,
    };
  }
  if (!response.ok) {
    return {
      failure: { url, status: response.status, message: errorMessage(response.status, text) },
      retry: retryable(response.status),
    };
  }
  if (!asJson) return { value: text };
  try {
    return { value: JSON.parse(text) };
  } catch {
    // A 200 with a body that is not JSON (e.g. cut mid-stream) is malformed, not transient.
    return {
      failure: {
        url,
        status: response.status,
        message: `the answer is not valid JSON: ${describeValue(text, 60)}`,
      },
      retry: false,
    };
  }
}

function connectionMessage(e: unknown): string {
  const cause = e instanceof Error ? (e.cause as { code?: string; message?: string }) : undefined;
  return `cannot connect (${cause?.code ?? cause?.message ?? String(e)})`;
}

/** vLLM's {error: {message, type, code}} (or any body) as one line. */
function errorMessage(status: number, text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { message?: string; type?: string } | string };
    if (typeof body.error === 'object' && body.error?.message) {
      return `HTTP ${status} ${body.error.type ?? ''}: ${body.error.message}`.replace('  ', ' ');
    }
    if (typeof body.error === 'string') return `HTTP ${status}: ${body.error}`;
  } catch {
    // not JSON: show the raw text
  }
  return `HTTP ${status}: ${describeValue(text, 120)}`;
}

export function joinURL(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs async jobs with at most `limit` in flight; results keep the input order. */
export async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  job: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RemaxError('E_CONFIG', 'maxConcurrency must be an integer >= 1', {
      field: 'maxConcurrency',
      value: limit,
    });
  }
  const out = new Array<R>(items.length);
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (next < items.length && failed === undefined) {
      const i = next++;
      try {
        out[i] = await job(items[i] as T, i);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed !== undefined) throw failed;
  return out;
}

/** The typed error for an engine answer that is not what the request asked for. */
export function malformedAnswer(
  what: string,
  message: string,
  field: string,
  value: unknown,
  expected: string,
): RemaxError {
  return new RemaxError('E_ENGINE', `malformed engine answer to the ${what}: ${message}`, {
    field,
    value,
    expected,
  });
}
