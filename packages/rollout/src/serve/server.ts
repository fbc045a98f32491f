// `serve`: vLLM's OpenAI-compatible HTTP surface over our own models, so every
// remote path of the trainer is tested on 127.0.0.1 and small models can be
// served from a laptop. Routes (vllm/entrypoints/openai/api_server.py and the
// routers): GET /health, GET /v1/models, POST /v1/completions, POST /classify
// (with a classifier), POST /v1/load_lora_adapter and /v1/unload_lora_adapter
// (with enableLora). `apiKey` is checked as vLLM's AuthenticationMiddleware
// does: every route but /health needs `Authorization: Bearer <key>`, else 401
// {"error": "Unauthorized"}.

import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RemaxError, Rng } from '@remax/core';
import type { z } from 'zod';
import type { DecodingModel } from '../model.js';
import { DecodeBatcher } from './batcher.js';
import { completionResponse, type ServedModel, toDecodeJob } from './completions.js';
import {
  ClassificationRequestSchema,
  CompletionRequestSchema,
  HttpError,
  LoadLoRAAdapterRequestSchema,
  SERVE_LIMITS,
  UnloadLoRAAdapterRequestSchema,
  validationError,
} from './protocol.js';

/** A one-label sequence classifier for POST /classify (e.g. UltraRM): raw scores, no activation. */
export interface ServedClassifier {
  name: string;
  root: string;
  vocabSize: number;
  maxModelLen: number;
  /** One raw score per row of token ids. */
  score(rows: number[][]): Promise<Float32Array>;
  tokenizer?: { encode(text: string, options?: { addBos?: boolean }): number[] };
}

/**
 * Named LoRA adapters behind /v1/load_lora_adapter: `load(dir)` returns the
 * model variant that then answers requests whose `model` is the adapter name
 * (`dispose` is called once it is unloaded or replaced and idle).
 */
export interface AdapterLoader {
  load(dir: string): Promise<DecodingModel & { dispose?(): void }>;
}

export interface ServeOptions {
  model: ServedModel & { model: DecodingModel; padId: number };
  classifier?: ServedClassifier;
  host?: string;
  /** 0 picks a free port (tests). */
  port?: number;
  apiKey?: string;
  enableLora?: boolean;
  /** Loads adapters for enableLora; without one, loading answers vLLM's error for an engine without LoRA. */
  adapters?: AdapterLoader;
  /** Seed of the server's own RNG, drawn for requests without `seed` (vLLM's --seed, default 0). */
  seed?: number;
  /** Rows per batched decode at most (default 64). */
  maxBatchRows?: number;
  /** An idle server decodes once no request arrived for this long (default 20 ms; at most 250 ms after the first). */
  batchWindowMs?: number;
}

export interface RunningServer {
  /** e.g. http://127.0.0.1:8000 (the OpenAI base URL is this + /v1). */
  readonly url: string;
  readonly port: number;
  /** Rows per batched decode so far. */
  readonly batchSizes: readonly number[];
  close(): Promise<void>;
}

const PUBLIC_PATHS = new Set(['/health', '/ping', '/version']);

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const served = options.model;
  const batcher = new DecodeBatcher(
    served.model,
    served.padId,
    options.maxBatchRows,
    options.batchWindowMs,
  );
  const adapters = new Map<
    string,
    { path: string; batcher: DecodeBatcher; dispose?: (() => void) | undefined }
  >();
  const release = async (entry: { batcher: DecodeBatcher; dispose?: (() => void) | undefined }) => {
    await entry.batcher.idle();
    entry.dispose?.();
  };
  const rng = Rng.fromSeed(options.seed ?? 0);
  const serverSeed = () => rng.nextUint32();
  const keyHash = options.apiKey !== undefined ? sha256(options.apiKey) : null;

  const routes: Record<string, (body: unknown) => Promise<unknown>> = {
    'GET /v1/models': async () => ({
      object: 'list',
      data: [
        modelCard(served.name, served.root, served.maxModelLen, null),
        ...(options.classifier
          ? [
              modelCard(
                options.classifier.name,
                options.classifier.root,
                options.classifier.maxModelLen,
                null,
              ),
            ]
          : []),
        ...[...adapters].map(([name, a]) => modelCard(name, a.path, null, served.name)),
      ],
    }),
    'POST /v1/completions': async (body) => {
      const request = parse(CompletionRequestSchema, body);
      const name = request.model ?? served.name;
      const target = name === served.name ? batcher : adapters.get(name)?.batcher;
      if (!target) throw notFoundModel(name);
      const { job, prompts } = toDecodeJob(request, served, serverSeed);
      const rows = await target.submit(job);
      return completionResponse(request, served, name, prompts, rows, job);
    },
  };
  if (options.classifier) {
    const classifier = options.classifier;
    routes['POST /classify'] = async (body) =>
      classify(classifier, parse(ClassificationRequestSchema, body));
  }
  if (options.enableLora) {
    routes['POST /v1/load_lora_adapter'] = async (body) => {
      const request = parse(LoadLoRAAdapterRequestSchema, body);
      if (!request.lora_name || !request.lora_path) {
        throw new HttpError(
          400,
          "Both 'lora_name' and 'lora_path' must be provided.",
          'InvalidUserInput',
        );
      }
      if (!request.load_inplace && adapters.has(request.lora_name)) {
        throw new HttpError(
          400,
          `The lora adapter '${request.lora_name}' has already been loaded. If you want to load the adapter in place, set 'load_inplace' to True.`,
          'InvalidUserInput',
        );
      }
      if (!options.adapters) {
        throw new HttpError(
          500,
          'LoRA is not supported by this engine: serve was started without an adapter loader for this model.',
          'InternalServerError',
        );
      }
      const model = await options.adapters.load(request.lora_path);
      adapters.set(request.lora_name, {
        path: request.lora_path,
        batcher: new DecodeBatcher(
          model,
          served.padId,
          options.maxBatchRows,
          options.batchWindowMs,
        ),
      });
      return `Success: LoRA adapter '${request.lora_name}' added successfully.`;
    };
    routes['POST /v1/unload_lora_adapter'] = async (body) => {
      const request = parse(UnloadLoRAAdapterRequestSchema, body);
      if (!request.lora_name) {
        throw new HttpError(
          400,
          "'lora_name' needs to be provided to unload a LoRA adapter.",
          'InvalidUserInput',
        );
      }
      if (!adapters.delete(request.lora_name)) {
        throw new HttpError(
          404,
          `The lora adapter '${request.lora_name}' cannot be found.`,
          'NotFoundError',
        );
      }
      return `Success: LoRA adapter '${request.lora_name}' removed successfully.`;
    };
  }

  // No server-side request timeout (Node's default is 300 s): a request may wait in
  // the queue behind long decodes; the client owns its timeout (rollout.timeout_s).
  const server = createServer({ requestTimeout: 0 }, (req, res) => {
    void handle(req, res).catch((e) => send(res, 500, internalError(e)));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] as string;
    if (path === '/health' && req.method === 'GET') {
      res.writeHead(200).end();
      return;
    }
    if (keyHash && !PUBLIC_PATHS.has(path) && !authorized(req, keyHash)) {
      send(res, 401, { error: 'Unauthorized' });
      return;
    }
    const route = routes[`${req.method} ${path}`];
    if (!route) {
      send(res, 404, { detail: 'Not Found' });
      return;
    }
    try {
      let body: unknown;
      if (req.method === 'POST') {
        if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) {
          throw new HttpError(
            415,
            "Unsupported Media Type: Only 'application/json' is allowed",
            'UnsupportedMediaType',
          );
        }
        body = await readJson(req);
      }
      const out = await route(body);
      // vLLM answers the LoRA endpoints with the plain text message
      if (typeof out === 'string') res.writeHead(200, { 'content-type': 'text/plain' }).end(out);
      else send(res, 200, out);
    } catch (e) {
      if (e instanceof HttpError) send(res, e.status, e.body());
      else send(res, 500, internalError(e));
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8000, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    batchSizes: batcher.batchSizes,
    close: () => closeServer(server),
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

async function classify(
  classifier: ServedClassifier,
  request: z.output<typeof ClassificationRequestSchema>,
): Promise<unknown> {
  const name = request.model ?? classifier.name;
  if (name !== classifier.name) throw notFoundModel(name);
  if (request.use_activation === true) {
    throw new HttpError(
      400,
      'use_activation: true is not supported by serve (raw scores only).',
      'BadRequestError',
      'use_activation',
    );
  }
  const input = request.input;
  const rows: number[][] =
    typeof input === 'string'
      ? [encodeFor(classifier, input, request.add_special_tokens)]
      : typeof input[0] === 'number'
        ? [input as number[]]
        : typeof input[0] === 'string'
          ? (input as string[]).map((t) => encodeFor(classifier, t, request.add_special_tokens))
          : (input as number[][]);
  rows.forEach((row, i) => {
    const bad = row.findIndex((id) => id >= classifier.vocabSize);
    if (bad >= 0) {
      throw new HttpError(
        400,
        `Token id ${row[bad]} is out of vocabulary (input ${i}).`,
        'BadRequestError',
        'input',
      );
    }
    if (row.length > classifier.maxModelLen) {
      throw new HttpError(
        400,
        `This model's maximum context length is ${classifier.maxModelLen} tokens. However, you requested ${row.length} tokens in the input for classification. Please reduce the length of the input.`,
        'BadRequestError',
        'input_tokens',
      );
    }
  });
  const scores = await classifier.score(rows);
  const tokens = rows.reduce((s, r) => s + r.length, 0);
  return {
    id: `classify-${randomUUID().replaceAll('-', '')}`,
    object: 'list',
    created: Math.floor(Date.now() / 1000),
    model: name,
    data: rows.map((_, index) => ({
      index,
      label: 'LABEL_0',
      probs: [scores[index] as number],
      num_classes: 1,
    })),
    usage: {
      prompt_tokens: tokens,
      total_tokens: tokens,
      completion_tokens: 0,
      prompt_tokens_details: null,
    },
  };
}

function encodeFor(classifier: ServedClassifier, text: string, addBos: boolean): number[] {
  if (!classifier.tokenizer) {
    throw new HttpError(
      400,
      'text input needs a tokenizer; send token ids',
      'BadRequestError',
      'input',
    );
  }
  return classifier.tokenizer.encode(text, { addBos });
}

function modelCard(id: string, root: string, maxModelLen: number | null, parent: string | null) {
  return {
    id,
    object: 'model',
    created: Math.floor(Date.now() / 1000),
    owned_by: 'vllm',
    root,
    parent,
    max_model_len: maxModelLen,
    permission: [modelPermission()],
  };
}

/** vLLM's ModelPermission with its defaults. */
function modelPermission() {
  return {
    id: `modelperm-${randomUUID().replaceAll('-', '')}`,
    object: 'model_permission',
    created: Math.floor(Date.now() / 1000),
    allow_create_engine: false,
    allow_sampling: true,
    allow_logprobs: true,
    allow_search_indices: false,
    allow_view: true,
    allow_fine_tuning: false,
    organization: '*',
    group: null,
    is_blocking: false,
  };
}

function notFoundModel(name: string): HttpError {
  return new HttpError(404, `The model \`${name}\` does not exist.`, 'NotFoundError', 'model');
}

function parse<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const out = schema.safeParse(body);
  if (!out.success) throw validationError(out.error);
  return out.data;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > SERVE_LIMITS.maxBodyBytes) {
      throw new HttpError(
        413,
        `request body larger than ${SERVE_LIMITS.maxBodyBytes} bytes`,
        'BadRequestError',
      );
    }
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'JSON decode error: the body is not valid JSON', 'BadRequestError');
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function internalError(e: unknown) {
  const message = e instanceof RemaxError || e instanceof Error ? e.message : String(e);
  return { error: { message, type: 'InternalServerError', param: null, code: 500 } };
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

function authorized(req: IncomingMessage, keyHash: Buffer): boolean {
  const header = req.headers.authorization;
  if (!header) return false;
  const space = header.indexOf(' ');
  const scheme = space < 0 ? header : header.slice(0, space);
  if (scheme.toLowerCase() !== 'bearer') return false;
  return timingSafeEqual(sha256(space < 0 ? '' : header.slice(space + 1)), keyHash);
}
