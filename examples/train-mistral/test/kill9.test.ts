// kill -9 at seeded random moments (during a step, during a checkpoint write),
// then `train --resume`, repeated: the finished run's metrics (all but time,
// throughput and memory) and final weights are bit-identical to a run that was
// never interrupted.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '@remax/core';
import { describe, expect, it } from 'vitest';
import { loadRunConfig } from '../src/config/load.js';
import { readMetrics } from '../src/run/metrics.js';
import { train } from '../src/run/train.js';
import {
  deterministicPart,
  differingTensors,
  FAST,
  LONG,
  packageDir,
  tinyYaml,
} from './runHelpers.js';

const SET = [...FAST, 'train.max_steps=6', 'output.checkpoint_every=1'];
const KILLS = 3;

/**
 * Runs the CLI; once it has printed its first step, waits `delayMs` and sends
 * SIGKILL (null: let it finish). Resolves with the exit code and signal.
 */
function runCli(args: string[], delayMs: number | null) {
  const child = spawn(
    process.execPath,
    ['--conditions=@remax/source', '--import', 'tsx', 'src/cli.ts', ...args],
    { cwd: packageDir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  let armed = false;
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString();
  });
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
    if (delayMs !== null && !armed && out.includes('"step":')) {
      armed = true;
      setTimeout(() => child.kill('SIGKILL'), delayMs);
    }
  });
  return new Promise<{ code: number | null; signal: string | null; err: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, err })),
  );
}

describe('kill -9 and resume', () => {
  it(
    `${KILLS} seeded kills, then resume to the end: bit-identical to an uninterrupted run`,
    async () => {
      const { config } = loadRunConfig(tinyYaml, { set: SET });
      const straight = mkdtempSync(join(tmpdir(), 'remax-kill-straight-'));
      await train({
        config,
        runDir: straight,
        progress: false,
        log: () => {},
      });

      const runDir = join(mkdtempSync(join(tmpdir(), 'remax-kill-')), 'run');
      const rng = Rng.fromSeed(20261203);
      const sets = SET.flatMap((s) => ['--set', s]);
      let killed = 0;
      for (let attempt = 0; attempt < KILLS; attempt++) {
        // a step of this run takes ~0.3-1 s and a checkpoint ~0.1-0.3 s: a delay
        // in [0, 1.2 s) lands in either, or between them
        const delay = Math.floor(rng.nextFloat() * 1200);
        const args = existsSync(join(runDir, 'config.yaml'))
          ? ['train', '--resume', runDir, '--no-progress']
          : ['train', '--run-dir', runDir, '--no-progress', ...sets];
        const r = await runCli(args, delay);
        if (r.signal === 'SIGKILL') killed++;
        else expect(r.code, r.err).toBe(0); // it finished before the kill landed
      }
      expect(killed).toBeGreaterThanOrEqual(2);
      const last = await runCli(['train', '--resume', runDir, '--no-progress'], null);
      expect(last.code, last.err).toBe(0);

      expect(readMetrics(runDir).map(deterministicPart)).toEqual(
        readMetrics(straight).map(deterministicPart),
      );
      expect(await differingTensors(join(runDir, 'final'), join(straight, 'final'))).toEqual([]);
    },
    LONG,
  );
});
