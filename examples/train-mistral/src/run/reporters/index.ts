// The run's metric reporters besides metrics.jsonl (always written):
// output.report_to lists them.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { RemaxError } from '@remax/core';
import type { RunConfig } from '../../config/schema.js';
import type { StepRecord } from '../metrics.js';
import { stepScalars } from './scalars.js';
import { TENSORBOARD_DIR, TensorBoardWriter, trimEventFiles } from './tensorboard.js';
import { loadWandbSdk, WANDB_RUNS_FILE, WandbReporter, type WandbSdk } from './wandb.js';

export interface Reporters {
  /** Sends one step's metrics to every reporter. */
  log(record: StepRecord): void;
  close(): Promise<void>;
  /** The event file of this process, or null without tensorboard. */
  readonly tensorboardFile: string | null;
}

export interface OpenReportersOptions {
  /** The checkpoint step a resumed run continues from; null for a fresh run. */
  resumeStep: number | null;
  /** The W&B SDK to use (tests); default: import @wandb/sdk. */
  wandbSdk?: WandbSdk;
}

/**
 * Opens the configured reporters. A fresh run starts an empty tensorboard/ (and
 * an empty wandb-runs.jsonl); a
 * resumed one keeps the earlier event files up to the checkpoint step and
 * writes the steps after it to a new file.
 */
export async function openReporters(
  config: RunConfig,
  runDir: string,
  options: OpenReportersOptions,
): Promise<Reporters> {
  const { report_to: reportTo, wandb } = config.output;
  const tbDir = join(runDir, TENSORBOARD_DIR);
  if (options.resumeStep === null) {
    rmSync(tbDir, { recursive: true, force: true });
    rmSync(join(runDir, WANDB_RUNS_FILE), { force: true });
  } else trimEventFiles(tbDir, options.resumeStep);
  const tb = reportTo.includes('tensorboard') ? new TensorBoardWriter(tbDir) : null;
  let wb: WandbReporter | null = null;
  if (reportTo.includes('wandb') && wandb.mode === 'online') {
    const envMode = process.env['WANDB_MODE'];
    if (envMode !== undefined && envMode !== 'online' && envMode !== 'run') {
      // the JS SDK would drop every point without a word
      tb?.close();
      throw new RemaxError(
        'E_CONFIG',
        'output.wandb.mode is online but WANDB_MODE says otherwise',
        {
          field: 'output.wandb.mode',
          value: `online (WANDB_MODE=${envMode})`,
          expected: 'unset WANDB_MODE, or set output.wandb.mode: offline',
        },
      );
    }
    try {
      wb = await WandbReporter.start(options.wandbSdk ?? (await loadWandbSdk()), {
        runDir,
        project: wandb.project,
        entity: wandb.entity,
        name: wandb.name,
        firstStep: (options.resumeStep ?? 0) + 1,
        seed: config.seed,
        config: config as unknown as Record<string, unknown>,
      });
    } catch (e) {
      tb?.close();
      throw e;
    }
  }
  return {
    tensorboardFile: tb?.file ?? null,
    log(record) {
      const scalars = stepScalars(record);
      tb?.write(record.step, scalars);
      wb?.log(record.step, scalars);
    },
    async close() {
      tb?.close();
      await wb?.close();
    },
  };
}
