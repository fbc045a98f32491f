import { mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isRemaxError } from '@remax/core';
import { describe, expect, it } from 'vitest';
import { loadRunConfig } from '../src/config/load.js';
import { appendMetrics, readMetrics, type StepRecord } from '../src/run/metrics.js';
import { crc32c } from '../src/run/reporters/crc32c.js';
import { openReporters } from '../src/run/reporters/index.js';
import { eventFiles, TENSORBOARD_DIR } from '../src/run/reporters/tensorboard.js';
import { loadWandbSdk, type WandbSdk } from '../src/run/reporters/wandb.js';
import { reporterHints } from '../src/run/reporters/where.js';
import { bitwiseCrc32c, expectedScalars, readEventFile, readRun } from './tfeventsReader.js';

const tinyYaml = fileURLToPath(new URL('../configs/tiny.yaml', import.meta.url));

function record(step: number): StepRecord {
  return {
    step,
    epoch: 0,
    prompts_seen: 2 * step,
    reward: 0.1 * step - 0.35,
    greedy_reward: step === 2 ? null : -0.2 + step / 7,
    kl: 1e-4 * step * step,
    response_length: 1,
    tokens_per_s: 123.456 + step,
    seconds: 0.25 + step / 100,
    lr: 1e-6,
    peak_tensor_bytes: 12_345_678 + step,
    rss_bytes: 2 ** 31 + step * 4096,
    algo: { 'reward/mean': 0.1 * step - 0.35, 'time/rollout_s': 0.01 * step, 'kl/full': 3e-7 },
  };
}

function runConfig(reportTo: string, extra: string[] = []) {
  return loadRunConfig(tinyYaml, { set: [`output.report_to=${reportTo}`, ...extra] }).config;
}

async function logSteps(runDir: string, steps: number[], resumeStep: number | null) {
  const reporters = await openReporters(runConfig('[tensorboard]'), runDir, { resumeStep });
  try {
    for (const s of steps) {
      appendMetrics(runDir, record(s));
      reporters.log(record(s));
    }
  } finally {
    await reporters.close();
  }
  return reporters.tensorboardFile;
}

describe('CRC-32C', () => {
  it('matches the RFC 3720 / iSCSI test vectors', () => {
    const vectors: [Uint8Array, number][] = [
      [new TextEncoder().encode('123456789'), 0xe3069283],
      [new Uint8Array(32), 0x8a9136aa],
      [new Uint8Array(32).fill(0xff), 0x62a8ab43],
      [Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e],
      [Uint8Array.from({ length: 32 }, (_, i) => 31 - i), 0x113fdb5c],
    ];
    for (const [bytes, crc] of vectors) {
      expect(crc32c(bytes)).toBe(crc);
      expect(bitwiseCrc32c(bytes)).toBe(crc);
    }
  });
});

describe('TensorBoard reporter', () => {
  it('writes one simple_value per metric per step, equal to metrics.jsonl', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'remax-tb-'));
    const before = Date.now() / 1000;
    const file = await logSteps(runDir, [1, 2, 3], null);
    expect(file).toMatch(/tensorboard\/events\.out\.tfevents\.\d{10}\.[^/]+\.\d+\.0$/);
    const events = readEventFile(file!);
    expect(events[0]!.fileVersion).toBe('brain.Event:2');
    const metrics = readMetrics(runDir);
    expect(events.slice(1).map((e) => e.step)).toEqual([1, 2, 3]);
    for (const [i, r] of metrics.entries()) {
      const e = events[i + 1]!;
      expect(e.scalars).toEqual(expectedScalars(r));
      expect(e.wallTime).toBeGreaterThanOrEqual(before - 1);
    }
    // names as in metrics.jsonl; null (PPO-style missing) values are left out
    expect([...events[1]!.scalars.keys()]).toContain('time/rollout_s');
    expect(events[2]!.scalars.has('greedy_reward')).toBe(false);
  });

  it('a torn last record (kill -9 mid-write) leaves every earlier step readable', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'remax-tb-torn-'));
    const file = (await logSteps(runDir, [1, 2, 3, 4], null))!;
    const whole = readFileSync(file);
    expect(readEventFile(file).map((e) => e.step)).toEqual([0, 1, 2, 3, 4]);
    for (const cut of [1, 5, 20]) {
      writeFileSync(file, whole.subarray(0, whole.length - cut));
      expect(readEventFile(file).map((e) => e.step)).toEqual([0, 1, 2, 3]);
    }
    // a flipped byte in the last record's data fails its checksum the same way
    const flipped = Buffer.from(whole);
    flipped[whole.length - 6]! ^= 0x40;
    writeFileSync(file, flipped);
    expect(readEventFile(file).map((e) => e.step)).toEqual([0, 1, 2, 3]);
  });

  it('resume: earlier files keep steps <= checkpoint, a new file continues, no step twice or missing', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'remax-tb-resume-'));
    const first = (await logSteps(runDir, [1, 2, 3, 4, 5], null))!;
    // killed while writing step 5; the last checkpoint was step 3
    truncateSync(first, readFileSync(first).length - 7);
    writeFileSync(
      join(runDir, 'metrics.jsonl'),
      readMetrics(runDir, { upToStep: 3 })
        .map((r) => `${JSON.stringify(r)}\n`)
        .join(''),
    );
    const second = (await logSteps(runDir, [4, 5, 6], 3))!;
    expect(second > first).toBe(true); // TensorBoard reads files in name order
    expect(readEventFile(second)[1]!.step).toBe(4);
    const events = readRun(runDir).filter((e) => e.fileVersion === '');
    expect(events.map((e) => e.step)).toEqual([1, 2, 3, 4, 5, 6]);
    const metrics = readMetrics(runDir);
    expect(metrics.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);
    events.forEach((e, i) => {
      expect(e.scalars).toEqual(expectedScalars(metrics[i]!));
    });
    // a fresh (not resumed) run starts an empty tensorboard/
    await logSteps(runDir, [1], null);
    expect(eventFiles(join(runDir, TENSORBOARD_DIR))).toHaveLength(1);
  });
});

describe('W&B reporter', () => {
  function fakeSdk() {
    const calls = {
      init: [] as unknown[],
      log: [] as [Record<string, unknown>, number | undefined][],
      finished: 0,
    };
    const exitAtOnce = () => {};
    const sdk: WandbSdk = {
      async init(options) {
        calls.init.push(options);
        // the real SDK installs this: it would exit before the trainer checkpoints
        process.once('SIGINT', exitAtOnce);
      },
      log(data, step) {
        calls.log.push([data, step]);
      },
      async finish() {
        calls.finished++;
      },
    };
    return { sdk, calls, exitAtOnce };
  }

  it('online: one W&B run per process, every step logged once with its step', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'remax-wandb-'));
    const config = runConfig('[wandb]', ['output.wandb.mode=online', 'output.wandb.project=p']);
    const { sdk, calls, exitAtOnce } = fakeSdk();
    const reporters = await openReporters(config, runDir, { resumeStep: null, wandbSdk: sdk });
    expect(process.listeners('SIGINT')).not.toContain(exitAtOnce);
    for (const s of [1, 2]) reporters.log(record(s));
    await reporters.close();
    expect(reporters.tensorboardFile).toBeNull();
    expect(calls.init).toHaveLength(1);
    const init = calls.init[0] as { project: string; name: string; id: string; config: unknown };
    expect(init.project).toBe('p');
    expect(init.id).toMatch(/^[a-z0-9]{8}$/);
    expect(init.config).toMatchObject({ algo: 'remax', seed: 1 });
    expect(calls.log.map(([, step]) => step)).toEqual([1, 2]);
    expect(calls.log[0]![0]).toEqual(Object.fromEntries(expectedScalars(record(1), (v) => v)));
    expect(calls.finished).toBe(1);

    process.env['WANDB_MODE'] = 'offline';
    try {
      await expect(
        openReporters(config, runDir, { resumeStep: 1, wandbSdk: fakeSdk().sdk }),
      ).rejects.toThrow(/WANDB_MODE/);
    } finally {
      delete process.env['WANDB_MODE'];
    }
    const resumed = fakeSdk();
    const again = await openReporters(config, runDir, { resumeStep: 1, wandbSdk: resumed.sdk });
    again.log(record(2));
    await again.close();
    expect((resumed.calls.init[0] as { name: string }).name).toMatch(/\(from step 2\)$/);
    const runs = readFileSync(join(runDir, 'wandb-runs.jsonl'), 'utf8').trim().split('\n');
    expect(runs.map((l) => (JSON.parse(l) as { first_step: number }).first_step)).toEqual([1, 2]);
    // a fresh run in the same directory starts the list again
    await (
      await openReporters(config, runDir, { resumeStep: null, wandbSdk: fakeSdk().sdk })
    ).close();
    expect(readFileSync(join(runDir, 'wandb-runs.jsonl'), 'utf8').trim().split('\n')).toHaveLength(
      1,
    );
  });

  it('offline: never loads the SDK; needs tensorboard, whose files `wandb sync` uploads', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'remax-wandb-off-'));
    const { sdk, calls } = fakeSdk();
    const reporters = await openReporters(runConfig('[tensorboard, wandb]'), runDir, {
      resumeStep: null,
      wandbSdk: sdk,
    });
    reporters.log(record(1));
    await reporters.close();
    expect(calls.init).toHaveLength(0);
    expect(readRun(runDir).map((e) => e.step)).toEqual([0, 1]);
    expect(() => runConfig('[wandb]')).toThrow(/tensorboard/);
  });

  it('refuses unknown or repeated reporters; a missing SDK is a typed error', async () => {
    expect(() => runConfig('[mlflow]')).toThrow(/report_to/);
    expect(() => runConfig('[tensorboard, tensorboard]')).toThrow(/at most once/);
    // @wandb/sdk is an optional peer: without it the error says how to get it
    try {
      const sdk = await loadWandbSdk();
      expect(typeof sdk.log).toBe('function');
    } catch (e) {
      expect(isRemaxError(e) && e.code === 'E_CONFIG' && /@wandb\/sdk/.test(e.message)).toBe(true);
    }
  });
});

describe('report hints', () => {
  it('say where the event files are, how to open them and how to upload them offline', async () => {
    const runDir = mkdtempSync(join(tmpdir(), 'remax-hints-'));
    const config = runConfig('[tensorboard, wandb]', ['output.wandb.project=proj']);
    expect(reporterHints(runDir, config)[0]).toMatch(/no event files/);
    await logSteps(runDir, [1], null);
    const lines = reporterHints(runDir, config);
    const dir = join(runDir, 'tensorboard');
    expect(lines[0]).toBe(`tensorboard: ${dir} (1 event file)`);
    expect(lines[1]).toContain(`tensorboard --logdir "${dir}"`);
    expect(lines[2]).toContain(`wandb sync --sync-tensorboard -p proj "${dir}"`);
    expect(reporterHints(runDir, runConfig('[tensorboard]'))).toHaveLength(2);
  });
});
