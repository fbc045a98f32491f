import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { AlgorithmState } from '@remax/core';
import { parseWith, RemaxError, tf } from '@remax/core';
import { openCheckpoint, type TensorEntry, writeSafetensors } from '@remax/safetensors';
import { z } from 'zod';
import { writeDirAtomically } from './atomicDir.js';
import { asWriteError, nodeIo, type RunIo, writeDurable } from './durableWrite.js';

// xoshiro128** words as the Rng stores them (int32, signed)
const word = z.number().int().min(-0x80000000).max(0xffffffff);
const count = z.number().int().nonnegative();

/** Where a run stands: enough to continue it exactly (validated on resume). */
export const trainerStateSchema = z.strictObject({
  step: count,
  epoch: count,
  /** Next prompt index inside the epoch's order. */
  cursor: count,
  prompts_seen: count,
  rng: z.strictObject({
    algorithm: z.literal('xoshiro128**'),
    s: z.tuple([word, word, word, word]).readonly(),
  }),
  algo: z.string().min(1),
  /** Seconds of training before this checkpoint (for ETA and reports). */
  elapsed_s: z.number().nonnegative(),
  /** Updates skipped in a row before this checkpoint (non-finite loss or gradient). */
  consecutive_skips: count.default(0),
});
export type TrainerState = z.output<typeof trainerStateSchema>;

/** This project's resume state; `trainer_state.json` is transformers' (for people and tools). */
const STATE_FILE = 'remax_state.json';
/** The state file of checkpoints written before `checkpoint-N/` (still resumable). */
const LEGACY_STATE_FILE = 'trainer-state.json';
const ALGO_JSON = 'algorithm-state.json';
const ALGO_TENSORS = 'algorithm-state.safetensors';
export const CHECKPOINTS_DIR = 'checkpoints';
const NAME = /^(?:checkpoint-(\d+)|step-(\d+))$/;

/** `checkpoints/checkpoint-N` (transformers' name). */
export function checkpointDir(runDir: string, step: number): string {
  return join(runDir, CHECKPOINTS_DIR, `checkpoint-${step}`);
}

export interface WriteCheckpointOptions {
  io?: RunIo;
  /** Further files at the checkpoint's root (name -> text), e.g. trainer_state.json. */
  extraFiles?: Record<string, string>;
}

/**
 * Writes a checkpoint atomically and durably (writeDirAtomically: a temporary
 * directory, every file and directory fsynced, renamed to `checkpoint-N`, the
 * parent fsynced). A run killed mid-write leaves the
 * previous checkpoints intact and at most a `.tmp-*` directory, which resume
 * ignores. A failed write (disk full, I/O error) is E_IO naming the file.
 */
export async function writeCheckpoint(
  runDir: string,
  state: TrainerState,
  algoState: AlgorithmState,
  savePolicy: (dir: string) => Promise<void>,
  options: WriteCheckpointOptions = {},
): Promise<string> {
  const io = options.io ?? nodeIo;
  const final = checkpointDir(runDir, state.step);
  try {
    await writeDirAtomically(final, async (tmp) => {
      await savePolicy(join(tmp, 'policy'));
      const tensors = new Map<string, TensorEntry>();
      for (const [name, t] of algoState.tensors) {
        // int32 state (step counters) stays int32; everything else is float32, bit for bit
        const dtype = t.dtype === 'int32' ? 'I32' : 'F32';
        tensors.set(name, { dtype, shape: t.shape, data: await t.data() });
      }
      if (tensors.size > 0) await writeSafetensors(join(tmp, ALGO_TENSORS), tensors);
      writeDurable(io, join(tmp, ALGO_JSON), JSON.stringify(algoState.json));
      for (const [name, text] of Object.entries(options.extraFiles ?? {}))
        writeDurable(io, join(tmp, name), text);
      // the state file last: a checkpoint without it is never taken for complete
      writeDurable(io, join(tmp, STATE_FILE), JSON.stringify(state, null, 2));
    });
  } catch (e) {
    throw asWriteError(e, final);
  } finally {
    tf.dispose([...algoState.tensors.values()]);
  }
  return final;
}

/** The checkpoints of a run, newest first (both `checkpoint-N` and the older `step-NNNNNN`). */
export function listCheckpoints(runDir: string): { dir: string; step: number }[] {
  const root = join(runDir, CHECKPOINTS_DIR);
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .flatMap((name) => {
      const m = NAME.exec(name);
      return m ? [{ dir: join(root, name), step: Number(m[1] ?? m[2]) }] : [];
    })
    .sort((a, b) => b.step - a.step || a.dir.localeCompare(b.dir));
}

export interface ResumePoint {
  /** The newest complete, valid checkpoint; null when there is none. */
  dir: string | null;
  /** Newer checkpoints passed over, with the reason each was not usable. */
  skipped: { dir: string; reason: string }[];
}

/**
 * The newest checkpoint that is complete and valid: its state parses and
 * matches its name, the algorithm state parses, the policy folder has its
 * config (model or adapter) and weights. Power loss or a copy cut short can leave a newer one
 * damaged; it is skipped (and reported), never silently used.
 */
export function findResumePoint(runDir: string): ResumePoint {
  const skipped: ResumePoint['skipped'] = [];
  for (const { dir, step } of listCheckpoints(runDir)) {
    try {
      const state = readTrainerState(dir);
      if (state.step !== step) {
        throw new RemaxError('E_STATE', 'state step does not match the folder name', {
          value: state.step,
          expected: String(step),
        });
      }
      readAlgorithmJson(dir);
      const policy = join(dir, 'policy');
      const files = existsSync(policy) ? readdirSync(policy) : [];
      // an HF model folder, or a PEFT adapter folder with LoRA
      const hasConfig = files.includes('config.json') || files.includes('adapter_config.json');
      if (!hasConfig || !files.some((f) => f.endsWith('.safetensors'))) {
        throw new RemaxError('E_CHECKPOINT', 'policy folder lacks its config or weights', {
          file: policy,
        });
      }
      return { dir, skipped };
    } catch (e) {
      skipped.push({ dir, reason: e instanceof Error ? e.message : String(e) });
    }
  }
  return { dir: null, skipped };
}

function readJson(file: string): unknown {
  if (!existsSync(file)) throw new RemaxError('E_CHECKPOINT', 'missing', { file });
  const text = readFileSync(file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new RemaxError('E_CHECKPOINT', text.length === 0 ? 'empty file' : 'not valid JSON', {
      file,
      cause,
    });
  }
}

/** The zod-validated trainer state of a checkpoint. */
export function readTrainerState(dir: string): TrainerState {
  const file = existsSync(join(dir, STATE_FILE))
    ? join(dir, STATE_FILE)
    : join(dir, LEGACY_STATE_FILE);
  return parseWith(trainerStateSchema, readJson(file), {
    file,
    what: 'trainer state',
    code: 'E_CHECKPOINT',
  });
}

function readAlgorithmJson(dir: string): Record<string, unknown> {
  const file = join(dir, ALGO_JSON);
  const json = readJson(file);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new RemaxError('E_CHECKPOINT', 'algorithm state is not a JSON object', { file });
  }
  return json as Record<string, unknown>;
}

/** The newest complete checkpoint of a run (E_FILE when there is none). */
export function latestCheckpoint(runDir: string): string {
  const { dir } = findResumePoint(runDir);
  if (dir === null) {
    throw new RemaxError('E_FILE', 'no complete checkpoint', {
      file: join(runDir, CHECKPOINTS_DIR),
      expected: 'a run directory written by `train` with at least one checkpoint',
    });
  }
  return dir;
}

/** Reads the trainer and algorithm state of a checkpoint (tensors are new; the caller disposes). */
export async function readCheckpointState(
  dir: string,
): Promise<{ state: TrainerState; algoState: AlgorithmState }> {
  const state = readTrainerState(dir);
  const json = readAlgorithmJson(dir);
  const tensors = new Map<string, tf.Tensor>();
  if (existsSync(join(dir, ALGO_TENSORS))) {
    const ckpt = await openCheckpoint(join(dir, ALGO_TENSORS));
    try {
      for (const name of ckpt.names()) {
        const { dtype, shape } = ckpt.info(name);
        const data = await ckpt.read(name);
        tensors.set(
          name,
          tf.tensor(
            data as Float32Array | Int32Array,
            shape,
            dtype === 'I32' ? 'int32' : 'float32',
          ),
        );
      }
    } catch (e) {
      tf.dispose([...tensors.values()]);
      throw e;
    } finally {
      await ckpt.close();
    }
  }
  return { state, algoState: { json, tensors } };
}

/**
 * Keeps the newest `limit` checkpoints (output.save_total_limit) and deletes
 * the older ones; `keep` (the checkpoint resume would use) is never deleted.
 * Returns the deleted folders.
 */
export function pruneCheckpoints(runDir: string, limit: number | null, keep: string): string[] {
  if (limit === null) return [];
  const removed: string[] = [];
  for (const { dir } of listCheckpoints(runDir).slice(limit)) {
    if (dir === keep) continue;
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}
