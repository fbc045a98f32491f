// Weights & Biases through its official JavaScript SDK (@wandb/sdk), an optional
// peer dependency loaded only when a run asks for it. That SDK logs online only:
// in offline mode (WANDB_MODE=offline) it drops every point and writes nothing,
// so offline runs are uploaded from the TensorBoard files instead
// (`wandb sync --sync-tensorboard`), see docs/watching-a-run.md.
import { appendFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { RemaxError, Rng } from '@remax/core';
import { z } from 'zod';

/** The part of @wandb/sdk's default export this reporter uses. */
export interface WandbSdk {
  init(options: {
    project?: string;
    entity?: string;
    name?: string;
    id?: string;
    config?: Record<string, unknown>;
  }): Promise<unknown>;
  log(data: Record<string, unknown>, step?: number, commit?: boolean): void;
  finish(): Promise<void>;
}

const sdkShape = z.object({
  init: z.custom<WandbSdk['init']>((v) => typeof v === 'function'),
  log: z.custom<WandbSdk['log']>((v) => typeof v === 'function'),
  finish: z.custom<WandbSdk['finish']>((v) => typeof v === 'function'),
});

const SDK_PACKAGE = '@wandb/sdk';

/** Imports @wandb/sdk, or explains how to get it. */
export async function loadWandbSdk(): Promise<WandbSdk> {
  let mod: { default?: unknown };
  try {
    // a variable specifier: the package is optional and not in this build's types
    const name: string = SDK_PACKAGE;
    mod = (await import(name)) as { default?: unknown };
  } catch (cause) {
    throw new RemaxError('E_CONFIG', 'output.report_to has wandb but @wandb/sdk is not installed', {
      field: 'output.report_to',
      value: 'wandb',
      expected: `\`pnpm add ${SDK_PACKAGE}\` (optional peer dependency), or output.wandb.mode: offline`,
      cause,
    });
  }
  const parsed = sdkShape.safeParse(mod.default ?? mod);
  if (!parsed.success) {
    throw new RemaxError('E_UNSUPPORTED', `${SDK_PACKAGE} does not have init/log/finish`, {
      field: 'output.report_to',
      value: 'wandb',
      expected: `${SDK_PACKAGE} >= 0.5`,
    });
  }
  return parsed.data as WandbSdk;
}

/** W&B's run ids: 8 characters of [a-z0-9]. */
function runId(rng: Rng): string {
  const abc = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from({ length: 8 }, () => abc[rng.nextInt(abc.length)]).join('');
}

export const WANDB_RUNS_FILE = 'wandb-runs.jsonl';

export interface WandbRunInfo {
  id: string;
  project: string;
  entity: string | null;
  name: string;
  /** First step this W&B run holds (after a resume, the step after the checkpoint). */
  first_step: number;
}

/**
 * One W&B run per training process. The JS SDK cannot resume a run (a second
 * process would write its history from offset 0 over the first), so a resumed
 * run logs its steps (> checkpoint) as a new W&B run named "<name> (from step
 * N)": no step is logged twice in one W&B run. Every run started is listed in
 * <run_dir>/wandb-runs.jsonl.
 */
export class WandbReporter {
  private constructor(
    private readonly sdk: WandbSdk,
    readonly info: WandbRunInfo,
  ) {}

  static async start(
    sdk: WandbSdk,
    options: {
      runDir: string;
      project: string;
      entity: string | null;
      name: string | null;
      firstStep: number;
      seed: number;
      config: Record<string, unknown>;
    },
  ): Promise<WandbReporter> {
    const base = options.name ?? basename(options.runDir);
    const info: WandbRunInfo = {
      // the clock keeps two runs of one seed from sharing (overwriting) a W&B run
      id: runId(Rng.derive(options.seed, 0x3a4db, Math.floor(Date.now() / 1000) % 2 ** 31)),
      project: options.project,
      entity: options.entity,
      name: options.firstStep > 1 ? `${base} (from step ${options.firstStep})` : base,
      first_step: options.firstStep,
    };
    // The SDK installs SIGINT/SIGTERM handlers that exit the process at once; the
    // trainer's own Ctrl-C handling must finish the step and checkpoint first, and
    // closes the W&B run itself.
    const emitter: NodeJS.EventEmitter = process;
    const events = ['SIGINT', 'SIGTERM', 'beforeExit'];
    const before = new Map(events.map((e) => [e, new Set(emitter.listeners(e))]));
    await sdk.init({
      project: info.project,
      ...(info.entity ? { entity: info.entity } : {}),
      name: info.name,
      id: info.id,
      config: options.config,
    });
    for (const [event, had] of before) {
      for (const l of emitter.listeners(event))
        if (!had.has(l)) emitter.off(event, l as (...args: unknown[]) => void);
    }
    appendFileSync(join(options.runDir, WANDB_RUNS_FILE), `${JSON.stringify(info)}\n`);
    return new WandbReporter(sdk, info);
  }

  log(step: number, scalars: ReadonlyArray<readonly [string, number]>): void {
    this.sdk.log(Object.fromEntries(scalars), step);
  }

  async close(): Promise<void> {
    await this.sdk.finish();
  }
}
