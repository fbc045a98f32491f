// Runs that survive: nothing deleted unless asked, resume from the newest valid
// checkpoint with logs cut back, typed write failures, save_total_limit, the
// NaN policy, and the Hugging Face files of a run.
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRemaxError } from '@remax/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadRunConfig } from '../src/config/load.js';
import { readSampleLines } from '../src/report/samples.js';
import { latestCheckpoint, readCheckpointState } from '../src/run/checkpoint.js';
import { nodeIo, type RunIo } from '../src/run/durableWrite.js';
import { readMetrics } from '../src/run/metrics.js';
import { train } from '../src/run/train.js';
import { deterministicPart, differingTensors, FAST, LONG, tinyYaml } from './runHelpers.js';

const tmp = (name: string) => mkdtempSync(join(tmpdir(), `remax-${name}-`));
const every1 = [...FAST, 'train.max_steps=4', 'output.checkpoint_every=1'];
const { config } = loadRunConfig(tinyYaml, { set: every1 });
const base = { config, progress: false };

async function rejection(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as Error,
  );
}

let straight: string;
beforeAll(async () => {
  straight = tmp('straight');
  await train({ ...base, runDir: straight, log: () => {} });
}, LONG);

describe('run lifecycle', () => {
  it(
    'refuses a directory that holds a run (E_RUN_EXISTS), deletes it only with overwrite',
    async () => {
      const runDir = tmp('exists');
      await train({ ...base, runDir, stopAfter: 1, log: () => {} });
      const error = await rejection(train({ ...base, runDir, log: () => {} }));
      expect(isRemaxError(error, 'E_RUN_EXISTS'), String(error)).toBe(true);
      expect(error.message).toContain(runDir);
      expect(error.message).toContain('--resume');
      expect(error.message).toContain('--overwrite');
      // nothing was touched
      expect(readMetrics(runDir)).toHaveLength(1);
      expect(readdirSync(join(runDir, 'checkpoints'))).toEqual(['checkpoint-1']);
      await train({ ...base, runDir, stopAfter: 2, overwrite: true, log: () => {} });
      expect(readMetrics(runDir).map((r) => r.step)).toEqual([1, 2]);
    },
    LONG,
  );

  it(
    'resumes from the newest valid checkpoint, says what it skipped, cuts the logs: same metrics and weights',
    async () => {
      const runDir = tmp('damaged');
      await train({ ...base, runDir, stopAfter: 3, log: () => {} });
      const ckpts = join(runDir, 'checkpoints');
      // power loss after the rename without fsync: an empty state file
      writeFileSync(join(ckpts, 'checkpoint-3', 'remax_state.json'), '');
      // a state that parses but is wrong
      writeFileSync(join(ckpts, 'checkpoint-2', 'remax_state.json'), '{"step":"forty"}');
      // checkpoint-1 in the older layout (step-NNNNNN, trainer-state.json) still resumes
      renameSync(join(ckpts, 'checkpoint-1'), join(ckpts, 'step-000001'));
      renameSync(
        join(ckpts, 'step-000001', 'remax_state.json'),
        join(ckpts, 'step-000001', 'trainer-state.json'),
      );
      // a kill during an append: a torn last line
      appendFileSync(join(runDir, 'metrics.jsonl'), '{"step":4,"epo');
      const log: string[] = [];
      const result = await train({ ...base, runDir, resume: true, log: (m) => log.push(m) });
      expect(result.resumedFrom).toBe(join(ckpts, 'step-000001'));
      const text = log.join('\n');
      expect(text).toMatch(/skipped .*checkpoint-3: .*empty file/);
      expect(text).toMatch(/skipped .*checkpoint-2: .*step/);
      expect(text).toMatch(/dropped a torn last line/);
      expect(readMetrics(runDir).map(deterministicPart)).toEqual(
        readMetrics(straight).map(deterministicPart),
      );
      expect(readSampleLines(runDir).map((s) => s.step)).toEqual(
        readSampleLines(straight).map((s) => s.step),
      );
      expect(await differingTensors(join(runDir, 'final'), join(straight, 'final'))).toEqual([]);
    },
    LONG,
  );

  it(
    'with no complete checkpoint, --resume starts again from step 0 with the saved config',
    async () => {
      const runDir = tmp('nockpt');
      await train({ ...base, runDir, stopAfter: 2, log: () => {} });
      rmSync(join(runDir, 'checkpoints'), { recursive: true });
      const log: string[] = [];
      const result = await train({ ...base, runDir, resume: true, log: (m) => log.push(m) });
      expect(result.resumedFrom).toBeNull();
      expect(log.join('\n')).toMatch(/no complete checkpoint .*starting again from step 0/);
      expect(readMetrics(runDir).map(deterministicPart)).toEqual(
        readMetrics(straight).map(deterministicPart),
      );
    },
    LONG,
  );

  /** Real file system calls, except one that fails like a full disk. */
  function failing(match: (file: string) => boolean, call: keyof RunIo, after = 0): RunIo {
    let seen = 0;
    const enospc = (file: string) =>
      Object.assign(new Error(`ENOSPC: no space left on device, write '${file}'`), {
        code: 'ENOSPC',
        path: file,
      });
    const wrap =
      <A extends unknown[]>(name: keyof RunIo, real: (file: string, ...rest: A) => void) =>
      (file: string, ...rest: A) => {
        if (name === call && match(file) && seen++ >= after) throw enospc(file);
        real(file, ...rest);
      };
    return {
      writeFile: wrap('writeFile', nodeIo.writeFile),
      appendFile: wrap('appendFile', nodeIo.appendFile),
      rename: wrap('rename', nodeIo.rename),
      fsync: wrap('fsync', nodeIo.fsync),
    };
  }

  it(
    'a full disk while appending metrics: E_IO naming the file; the last checkpoint loads and resumes',
    async () => {
      const runDir = tmp('enospc-metrics');
      const io = failing((f) => f.endsWith('metrics.jsonl'), 'appendFile', 2);
      const error = await rejection(train({ ...base, runDir, io, log: () => {} }));
      expect(isRemaxError(error, 'E_IO'), String(error)).toBe(true);
      expect(error.message).toContain(join(runDir, 'metrics.jsonl'));
      expect(error.message).toContain('ENOSPC');
      const last = latestCheckpoint(runDir);
      expect(last).toBe(join(runDir, 'checkpoints', 'checkpoint-2'));
      const { algoState } = await readCheckpointState(last);
      for (const t of algoState.tensors.values()) t.dispose();
      await train({ ...base, runDir, resume: true, log: () => {} });
      expect(readMetrics(runDir).map(deterministicPart)).toEqual(
        readMetrics(straight).map(deterministicPart),
      );
    },
    LONG,
  );

  it(
    'a full disk while writing a checkpoint: E_IO naming the file, no partial checkpoint left',
    async () => {
      const runDir = tmp('enospc-ckpt');
      const io = failing((f) => f.endsWith('remax_state.json'), 'writeFile', 1);
      const error = await rejection(train({ ...base, runDir, io, log: () => {} }));
      expect(isRemaxError(error, 'E_IO'), String(error)).toBe(true);
      expect(error.message).toMatch(/tmp-checkpoint-2-\d+\/remax_state\.json/);
      expect(readdirSync(join(runDir, 'checkpoints'))).toEqual(['checkpoint-1']);
      expect(latestCheckpoint(runDir)).toBe(join(runDir, 'checkpoints', 'checkpoint-1'));
    },
    LONG,
  );

  it('output.save_total_limit keeps the newest N checkpoints', () => {
    // the straight run used no limit: 4 checkpoints
    expect(readdirSync(join(straight, 'checkpoints')).sort()).toEqual([
      'checkpoint-1',
      'checkpoint-2',
      'checkpoint-3',
      'checkpoint-4',
    ]);
  });

  it(
    'output.save_total_limit=2 deletes older checkpoints as new ones land',
    async () => {
      const runDir = tmp('limit');
      const limited = loadRunConfig(tinyYaml, {
        set: [...every1, 'output.save_total_limit=2'],
      }).config;
      await train({ ...base, config: limited, runDir, log: () => {} });
      expect(readdirSync(join(runDir, 'checkpoints')).sort()).toEqual([
        'checkpoint-3',
        'checkpoint-4',
      ]);
    },
    LONG,
  );

  it('writes trainer_state.json (transformers shape), generation_config.json and a model card', () => {
    const ckpt = join(straight, 'checkpoints', 'checkpoint-4');
    const state = JSON.parse(readFileSync(join(ckpt, 'trainer_state.json'), 'utf8'));
    expect(state).toMatchObject({
      global_step: 4,
      max_steps: 4,
      train_batch_size: 2,
      num_train_epochs: config.train.epochs,
      logging_steps: 1,
      save_steps: 1,
      is_world_process_zero: true,
      stateful_callbacks: {},
    });
    expect(state.epoch).toBeCloseTo(0.5, 12); // 8 of 16 prompts
    expect(state.log_history.map((e: { step: number }) => e.step)).toEqual([1, 2, 3, 4]);
    const records = readMetrics(straight);
    expect(state.log_history[3]).toMatchObject({
      step: 4,
      reward: records[3]?.reward,
      kl: records[3]?.kl,
      learning_rate: records[3]?.lr,
    });
    expect(existsSync(join(ckpt, 'algorithm-state.safetensors'))).toBe(true);
    for (const dir of [join(ckpt, 'policy'), join(straight, 'final')]) {
      const gen = JSON.parse(readFileSync(join(dir, 'generation_config.json'), 'utf8'));
      expect(gen).toEqual({
        bos_token_id: 1,
        eos_token_id: 2,
        pad_token_id: 2,
        do_sample: true,
        temperature: 0.7,
        top_p: 0.9,
        top_k: 0,
        max_new_tokens: 4,
      });
      const card = readFileSync(join(dir, 'README.md'), 'utf8');
      expect(card).toContain('base_model:');
      expect(card).toContain('| algorithm | remax |');
      expect(card).toMatch(/\| final reward \(mean of the last 5 steps\) \| -?\d+\.\d{4} \|/);
    }
  });

  it(
    'fails on a prompt set too small for one batch before loading any model',
    async () => {
      const runDir = tmp('few');
      const broken = join(runDir, '..', `${runDir.split('/').at(-1)}-rm`);
      mkdirSync(broken, { recursive: true });
      writeFileSync(join(broken, 'config.json'), '{}'); // would fail to load as a model
      const few = loadRunConfig(tinyYaml, {
        set: [...FAST, 'data.num_prompts=1', `reward.path=${broken}`],
      }).config;
      const error = await rejection(train({ ...base, config: few, runDir, log: () => {} }));
      expect(isRemaxError(error, 'E_INPUT'), String(error)).toBe(true);
      expect(error.message).toMatch(/not enough prompts for one batch.*1 prompts selected/);
    },
    LONG,
  );
});
