import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdamW, initBackend, isRemaxError, Rng, tf } from '@remax/core';
import { openCheckpoint } from '@remax/safetensors';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  addLoRA,
  type CausalLM,
  loadAdapter,
  loadCausalLM,
  mergeAdapters,
  saveAdapter,
} from '../src/index.js';
import { fixtureDir } from './helpers.js';
import { adapterFixtures } from './loraFixtures.js';

const fx = adapterFixtures().find((f) => f.name === 'lora/tiny-mistral-lora');
if (!fx) throw new Error('fixtures/lora/tiny-mistral-lora is missing');
const ids = [
  [1, 415, 293, 90, 285, 114],
  [0, 0, 1, 225, 287, 152],
];
const mask = [
  [1, 1, 1, 1, 1, 1],
  [0, 0, 1, 1, 1, 1],
];
const tmp = mkdtempSync(join(tmpdir(), 'remax-lora-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function logits(model: CausalLM): Float32Array {
  return tf.tidy(
    () => model.forward({ inputIds: ids, attentionMask: mask }).dataSync() as Float32Array,
  );
}
function nll(model: CausalLM): tf.Scalar {
  return tf.tidy(
    () => tf.neg(tf.mean(model.logprobsOf({ inputIds: ids, attentionMask: mask }))) as tf.Scalar,
  );
}
async function expectRemaxError(
  p: Promise<unknown> | (() => unknown),
  code: string,
  field: string,
) {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(isRemaxError(err), String(err)).toBe(true);
  expect((err as { code: string }).code).toBe(code);
  expect((err as { field: string }).field).toBe(field);
}
/** A copy of the fixture adapter folder with its config edited. */
function editedAdapter(name: string, edit: (cfg: Record<string, unknown>) => void): string {
  const dir = join(tmp, name);
  rmSync(dir, { recursive: true, force: true });
  const cfg = JSON.parse(readFileSync(join(fx!.dir, 'adapter_config.json'), 'utf8'));
  edit(cfg);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify(cfg));
  writeFileSync(
    join(dir, 'adapter_model.safetensors'),
    readFileSync(join(fx!.dir, 'adapter_model.safetensors')),
  );
  return dir;
}

describe('LoRA API', () => {
  let model: CausalLM;
  beforeAll(async () => {
    await initBackend();
  });
  afterEach(() => model?.dispose());

  it('addLoRA: PEFT init (A ~ U(±1/sqrt(in)), B = 0) changes nothing; base frozen, parameters() unchanged', async () => {
    model = await loadCausalLM(fixtureDir('tiny-mistral-swa'));
    const base = logits(model);
    const baseNames = [...model.parameters().keys()];
    const added = addLoRA(model, {
      r: 4,
      alpha: 8,
      targetModules: ['q_proj', 'down_proj'],
      seed: 3,
    });
    expect([...model.parameters().keys()]).toEqual(baseNames);
    expect([...model.parameters().values()].every((v) => !v.trainable)).toBe(true);
    expect([...added.keys()]).toEqual([...model.adapterParameters().keys()]);
    expect([...added.keys()].slice(0, 2)).toEqual([
      'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight',
      'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight',
    ]);
    expect(added.size).toBe(2 * 2 * model.dims.layers);
    const a = added.get(
      'base_model.model.model.layers.0.mlp.down_proj.lora_A.weight',
    ) as tf.Variable;
    const inDim = model.config.intermediate_size;
    expect(a.shape).toEqual([4, inDim]);
    const av = a.dataSync() as Float32Array;
    const bound = 1 / Math.sqrt(inDim);
    expect(Math.max(...av.map(Math.abs))).toBeLessThanOrEqual(bound);
    // uniform on ±bound: std bound/sqrt(3)
    const std = Math.sqrt(av.reduce((s, v) => s + v * v, 0) / av.length);
    expect(Math.abs(std / (bound / Math.sqrt(3)) - 1)).toBeLessThan(0.15);
    const b = added.get(
      'base_model.model.model.layers.0.mlp.down_proj.lora_B.weight',
    ) as tf.Variable;
    expect(b.shape).toEqual([model.config.hidden_size, 4]);
    expect(b.dataSync().every((v) => v === 0)).toBe(true);
    expect(logits(model)).toEqual(base);
    // same seed, same A
    const again = await loadCausalLM(fixtureDir('tiny-mistral-swa'));
    try {
      addLoRA(again, { r: 4, alpha: 8, targetModules: ['q_proj', 'down_proj'], seed: 3 });
      const a2 = again
        .adapterParameters()
        .get('base_model.model.model.layers.0.mlp.down_proj.lora_A.weight');
      expect(a2?.dataSync()).toEqual(av);
    } finally {
      again.dispose();
    }
  });

  it('AdamW steps on adapterParameters() lower the loss, leave the base bitwise, leak nothing', async () => {
    model = await loadCausalLM(fixtureDir('tiny-mistral-swa'));
    const params = addLoRA(model, { r: 8, alpha: 16, targetModules: 'all-linear', seed: 1 });
    expect(params.size).toBe(2 * 7 * model.dims.layers);
    const base = new Map([...model.parameters()].map(([k, v]) => [k, v.dataSync().slice()]));
    const opt = new AdamW(params, { lr: 1e-2 });
    const step = (): number => {
      const { value, grads } = tf.variableGrads(() => nll(model), [...params.values()]);
      const byName = new Map([...params].map(([k, v]) => [k, grads[v.name] as tf.Tensor]));
      opt.apply(byName);
      const l = value.dataSync()[0] as number;
      tf.dispose([value, ...Object.values(grads)]);
      return l;
    };
    const l0 = step();
    const before = tf.memory().numTensors;
    step();
    step();
    expect(tf.memory().numTensors).toBe(before);
    const l3 = tf.tidy(() => nll(model).dataSync()[0] as number);
    expect(l3).toBeLessThan(l0);
    for (const [k, v] of model.parameters()) expect(v.dataSync(), k).toEqual(base.get(k));
    opt.dispose();
  });

  it('base weights get no gradient (frozen) with adapters attached', async () => {
    model = await loadCausalLM(fixtureDir('tiny-mistral-swa'));
    addLoRA(model, { r: 2, alpha: 2, targetModules: ['v_proj'] });
    const w = model.parameters().get('model.layers.0.self_attn.q_proj.weight') as tf.Variable;
    expect(() => tf.variableGrads(() => nll(model), [w])).toThrow();
  });

  it('saveAdapter -> loadAdapter is bitwise; the files have the fixture files keys, dtypes and config fields', async () => {
    model = await loadCausalLM(fixtureDir('tiny-mistral'));
    const params = addLoRA(model, {
      r: 4,
      alpha: 8,
      targetModules: fx!.golden.target_modules,
      seed: 5,
    });
    const rng = Rng.fromSeed(9);
    for (const v of params.values()) {
      v.assign(
        tf.tensor(
          Float32Array.from({ length: v.size }, () => rng.nextNormal()),
          v.shape,
        ),
      );
    }
    const dir = join(tmp, 'saved');
    await saveAdapter(model, dir, { baseModelNameOrPath: 'tiny-mistral' });
    const cfg = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
    const want = JSON.parse(readFileSync(join(fx!.dir, 'adapter_config.json'), 'utf8'));
    expect(Object.keys(cfg).sort()).toEqual(Object.keys(want).sort());
    expect(cfg).toEqual(want); // same r, alpha and targets as the fixture: every field equal
    const saved = await openCheckpoint(join(dir, 'adapter_model.safetensors'));
    const ref = await openCheckpoint(join(fx!.dir, 'adapter_model.safetensors'));
    try {
      expect(saved.names().sort()).toEqual(ref.names().sort());
      for (const n of ref.names()) expect(saved.info(n)).toEqual(ref.info(n));
    } finally {
      await saved.close();
      await ref.close();
    }
    const header = readFileSync(join(dir, 'adapter_model.safetensors'));
    const n = Number(header.readBigUInt64LE(0));
    expect(JSON.parse(header.subarray(8, 8 + n).toString()).__metadata__).toEqual({ format: 'pt' });
    const other = await loadCausalLM(fixtureDir('tiny-mistral'));
    try {
      await loadAdapter(other, dir);
      const got = other.adapterParameters();
      expect([...got.keys()]).toEqual([...params.keys()]);
      for (const [k, v] of params) expect(got.get(k)?.dataSync(), k).toEqual(v.dataSync());
      expect(logits(other)).toEqual(logits(model));
    } finally {
      other.dispose();
    }
  });

  it('loading the PEFT files then saving them writes the same config bytes, header and tensor bytes', async () => {
    model = await loadCausalLM(fx!.baseDir);
    await loadAdapter(model, fx!.dir);
    const dir = join(tmp, 'resaved');
    await saveAdapter(model, dir);
    const cfg = 'adapter_config.json';
    expect(readFileSync(join(dir, cfg)).equals(readFileSync(join(fx!.dir, cfg)))).toBe(true);
    // The header JSON is compared parsed: our writer puts __metadata__ first, the
    // safetensors release that wrote the fixture puts it last; readers ignore the order.
    const split = (b: Buffer) => {
      const n = Number(b.readBigUInt64LE(0));
      return { header: JSON.parse(b.subarray(8, 8 + n).toString()), data: b.subarray(8 + n) };
    };
    const got = split(readFileSync(join(dir, 'adapter_model.safetensors')));
    const want = split(readFileSync(join(fx!.dir, 'adapter_model.safetensors')));
    expect(got.header).toEqual(want.header);
    expect(got.data.equals(want.data)).toBe(true);
  });

  it('older configs: absent keys get PEFT defaults (use_rslora false, target_modules q/v for mistral)', async () => {
    model = await loadCausalLM(fx!.baseDir);
    const dir = editedAdapter('old', (c) => {
      for (const k of Object.keys(c)) {
        if (!['peft_type', 'r', 'lora_alpha', 'target_modules', 'bias', 'task_type'].includes(k))
          delete c[k];
      }
    });
    await loadAdapter(model, dir);
    expect(model.adapters?.scaling).toBe(2);
    expect(model.adapters?.config['use_dora']).toBe(false);
    mergeAdapters(model);
    const dir2 = editedAdapter('old-qv', (c) => {
      delete c['target_modules'];
    });
    const m2 = await loadCausalLM(fx!.baseDir);
    try {
      // the file holds all seven projections: the PEFT default (q_proj, v_proj) leaves the others unexpected
      await expectRemaxError(loadAdapter(m2, dir2), 'E_CHECKPOINT', undefined as unknown as string);
    } finally {
      m2.dispose();
    }
  });

  it.each([
    ['use_dora', true],
    ['rank_pattern', { q_proj: 8 }],
    ['alpha_pattern', { q_proj: 8 }],
    ['fan_in_fan_out', true],
    ['bias', 'all'],
    ['modules_to_save', ['lm_head']],
    ['layers_to_transform', [0]],
    ['init_lora_weights', 'pissa'],
    ['some_future_option', { enabled: true }],
    ['target_modules', ['q_proj', 'lm_head']],
  ])('refuses %s = %j with a typed error naming the key', async (key, value) => {
    model = await loadCausalLM(fx!.baseDir);
    const dir = editedAdapter(`bad-${key}`, (c) => {
      c[key] = value;
    });
    await expectRemaxError(loadAdapter(model, dir), 'E_UNSUPPORTED', key);
    expect(model.adapters).toBeNull();
  });

  it('mismatched tensors are reported; a second adapter is refused', async () => {
    model = await loadCausalLM(fx!.baseDir);
    const dir = editedAdapter('r8', (c) => {
      c['r'] = 8;
    });
    await expect(loadAdapter(model, dir)).rejects.toThrow(/shape \[4,64\], expected \[8,64\]/);
    await loadAdapter(model, fx!.dir);
    await expectRemaxError(loadAdapter(model, fx!.dir), 'E_STATE', undefined as unknown as string);
    expect(() => addLoRA(model, { r: 1, alpha: 1, targetModules: ['q_proj'] })).toThrow(
      /already has/,
    );
  });

  it('withAdaptersDisabled restores the adapters after sync throws and async settles', async () => {
    model = await loadCausalLM(fx!.baseDir);
    await loadAdapter(model, fx!.dir);
    const on = logits(model);
    expect(() =>
      model.withAdaptersDisabled(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    const off = await model.withAdaptersDisabled(async () => {
      await new Promise((r) => setTimeout(r, 1));
      return logits(model);
    });
    expect(off).not.toEqual(on);
    expect(logits(model)).toEqual(on);
    expect(model.adapters?.enabled).toBe(true);
  });
});
