import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AlgorithmState, RngState } from '@remax/core';
import { RemaxError, tf } from '@remax/core';
import { openCheckpoint, type TensorEntry, writeSafetensors } from '@remax/safetensors';
import { writeDirAtomically } from './atomicDir.js';

/** Where a run stands: enough to continue it exactly. */
export interface TrainerState {
  step: number;
  epoch: number;
  /** Next prompt index inside the epoch's order. */
  cursor: number;
  prompts_seen: number;
  rng: RngState;
  algo: string;
  /** Seconds of training before this checkpoint (for ETA and reports). */
  elapsed_s: number;
}

const STATE_FILE = 'trainer-state.json';
const ALGO_JSON = 'algorithm-state.json';
const ALGO_TENSORS = 'algorithm-state.safetensors';
export const CHECKPOINTS_DIR = 'checkpoints';

/**
 * Writes a checkpoint atomically (writeDirAtomically: temporary directory,
 * fsync, rename to `step-N`), so a run killed mid-write
 * leaves the previous checkpoint intact and no half-written one.
 */
export async function writeCheckpoint(
  runDir: string,
  state: TrainerState,
  algoState: AlgorithmState,
  savePolicy: (dir: string) => Promise<void>,
): Promise<string> {
  const final = join(runDir, CHECKPOINTS_DIR, `step-${String(state.step).padStart(6, '0')}`);
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
      writeFileSync(join(tmp, ALGO_JSON), JSON.stringify(algoState.json));
      writeFileSync(join(tmp, STATE_FILE), JSON.stringify(state, null, 2));
    });
  } finally {
    tf.dispose([...algoState.tensors.values()]);
  }
  return final;
}

/** The newest complete checkpoint of a run (temporary directories are ignored). */
export function latestCheckpoint(runDir: string): string {
  const root = join(runDir, CHECKPOINTS_DIR);
  const steps = existsSync(root)
    ? readdirSync(root)
        .filter((d) => /^step-\d+$/.test(d) && existsSync(join(root, d, STATE_FILE)))
        .sort()
    : [];
  const last = steps.at(-1);
  if (last === undefined) {
    throw new RemaxError('E_FILE', 'no complete checkpoint to resume from', {
      file: root,
      expected: 'a run directory written by `train` with at least one checkpoint',
    });
  }
  return join(root, last);
}

/** Reads the trainer and algorithm state of a checkpoint (tensors are new; the caller disposes). */
export async function readCheckpointState(
  dir: string,
): Promise<{ state: TrainerState; algoState: AlgorithmState }> {
  const state = JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as TrainerState;
  const json = JSON.parse(readFileSync(join(dir, ALGO_JSON), 'utf8')) as Record<string, unknown>;
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
    } finally {
      await ckpt.close();
    }
  }
  return { state, algoState: { json, tensors } };
}
