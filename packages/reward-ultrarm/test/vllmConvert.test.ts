// convertUltraRMForVllm: a LlamaForSequenceClassification folder that our own
// loader reads back to bitwise the same rewards; remoteRewardFn through
// `serve`'s /classify equals makeRewardFn in-process.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, isRemaxError, tf } from '@remax/core';
import { loadCausalLM } from '@remax/model-mistral';
import { servedCausalLM, startServer } from '@remax/rollout';
import { openCheckpoint } from '@remax/safetensors';
import { Tokenizer } from '@remax/tokenizer';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  convertUltraRMForVllm,
  loadRewardModel,
  makeRewardFn,
  readScores,
  remoteRewardFn,
  servedClassifier,
} from '../src/index.js';
import { golden, MISTRAL_TOKENIZER, ultraRMVariant } from './helpers.js';

beforeAll(async () => {
  await initBackend();
});

const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe.each(['bin', 'safetensors'] as const)('convertUltraRMForVllm from %s', (format) => {
  it('writes LlamaForSequenceClassification with score.weight; same tensors, bitwise same rewards', async () => {
    const src = ultraRMVariant(format);
    const out = mkdtempSync(join(tmpdir(), 'remax-ultrarm-vllm-'));
    const result = await convertUltraRMForVllm(src, out, { maxShardBytes: 200_000 });
    expect(result.files.length).toBeGreaterThan(2); // sharded + index at this shard size
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config.architectures).toEqual(['LlamaForSequenceClassification']);
    expect(config.num_labels).toBe(1);
    const a = await openCheckpoint(src);
    const b = await openCheckpoint(out);
    try {
      expect(b.names()).toContain('score.weight');
      expect(b.names()).not.toContain('regression_head.weight');
      for (const name of a.names()) {
        const to = name === 'regression_head.weight' ? 'score.weight' : name;
        expect(b.info(to)).toEqual(a.info(name));
        expect(bytes(await b.read(to)).equals(bytes(await a.read(name)))).toBe(true);
      }
    } finally {
      await a.close();
      await b.close();
    }
    const original = await loadRewardModel(src);
    const converted = await loadRewardModel(out);
    try {
      const texts = golden.texts;
      const rows = texts.map((t) => original.tokenizer.encode(t, { addBos: true }));
      const want = await original.scoreTokenRows(rows);
      const got = await converted.scoreTokenRows(rows);
      expect(Array.from(got)).toEqual(Array.from(want));
    } finally {
      original.dispose();
      converted.dispose();
    }
  });
});

it('refuses a folder that is already converted', async () => {
  const out = mkdtempSync(join(tmpdir(), 'remax-ultrarm-vllm-'));
  await convertUltraRMForVllm(ultraRMVariant('safetensors'), out);
  const again = mkdtempSync(join(tmpdir(), 'remax-ultrarm-vllm-'));
  await expect(convertUltraRMForVllm(out, again)).rejects.toSatisfy((e) =>
    isRemaxError(e, 'E_CHECKPOINT'),
  );
});

describe('remoteRewardFn through serve /classify', () => {
  it('equals makeRewardFn in-process, bitwise, with the same onScored details', async () => {
    const model = await loadRewardModel(ultraRMVariant('safetensors'));
    const mistral = await Tokenizer.fromFile(MISTRAL_TOKENIZER);
    // serve needs a causal LM too; the tiny policy fixture is enough for /classify
    const policy = await loadCausalLM(join(MISTRAL_TOKENIZER, '..'));
    const server = await startServer({
      model: servedCausalLM('policy', 'policy', policy, mistral),
      classifier: servedClassifier(model, 'ultrarm', 'ultrarm'),
      port: 0,
    });
    const conversations = golden.texts.map((text) => {
      const m = /^Human: ([\s\S]*)\nAssistant: ([\s\S]*)$/.exec(text);
      return {
        messages: [{ role: 'user' as const, content: m?.[1] ?? '' }],
        completion: m?.[2] ?? '',
      };
    });
    const prompts = conversations.map((c) => mistral.encodeChat(c.messages, 'mistral-v1'));
    const responses = conversations.map((c) => [...mistral.encode(c.completion), mistral.eosId]);
    const P = Math.max(...prompts.map((p) => p.length));
    const R = Math.max(...responses.map((r) => r.length));
    const ids = prompts.map((p, b) => {
      const r = responses[b] ?? [];
      return [...Array(P - p.length).fill(0), ...p, ...r, ...Array(R - r.length).fill(0)];
    });
    const mask = prompts.map((p, b) =>
      ids[b]?.map((_, t) => (t >= P - p.length && t < P + (responses[b]?.length ?? 0) ? 1 : 0)),
    );
    const batch = {
      inputIds: tf.tensor2d(ids, undefined, 'int32'),
      attentionMask: tf.tensor2d(mask as number[][], undefined, 'int32'),
      promptLength: P,
    };
    try {
      const localSeen: unknown[] = [];
      const remoteSeen: unknown[] = [];
      const local = await makeRewardFn(model, mistral, (s) => localSeen.push(s))(batch);
      const remote = await remoteRewardFn(
        { baseURL: `${server.url}/v1`, model: 'ultrarm', maxLength: model.maxLength },
        mistral,
        model.tokenizer,
        (s) => remoteSeen.push(s),
      )(batch);
      expect(Array.from(remote)).toEqual(Array.from(local));
      expect(remoteSeen).toEqual(localSeen);
    } finally {
      tf.dispose([batch.inputIds, batch.attentionMask]);
      await server.close();
      model.dispose();
      policy.dispose();
    }
  });

  it('malformed classify answers are typed errors', () => {
    const ok = { object: 'list', data: [{ index: 0, probs: [0.5] }] };
    expect(Array.from(readScores(ok, 1, 'x'))).toEqual([0.5]);
    for (const bad of [
      { object: 'list', data: [] },
      { object: 'list', data: [{ index: 0, probs: [0.5, 1] }] },
      { object: 'list', data: [{ index: 3, probs: [0.5] }] },
      { data: [{ index: 0, probs: [0.5] }] },
    ]) {
      expect(() => readScores(bad, 1, 'x')).toThrow(expect.objectContaining({ code: 'E_ENGINE' }));
    }
  });
});
