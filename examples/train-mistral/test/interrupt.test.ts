import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

describe('Ctrl-C and SIGTERM (preemption)', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)(
    '%s: finishes the step, saves a complete checkpoint and exits 0',
    async (signal) => {
      const runDir = mkdtempSync(join(tmpdir(), 'remax-sigint-'));
      const child = spawn(
        process.execPath,
        [
          '--conditions=@remax/source',
          '--import',
          'tsx',
          'src/cli.ts',
          'train',
          '--run-dir',
          runDir,
          '--no-progress',
          '--set',
          'train.batch_size=2',
          '--set',
          'train.micro_batch_size=1',
          '--set',
          'data.max_answer_seq=4',
          '--set',
          'output.checkpoint_every=0',
        ],
        { cwd: packageDir, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      let err = '';
      child.stderr.on('data', (chunk: Buffer) => {
        err += chunk.toString();
      });
      let signalled = false;
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        // the first step is done: interrupt the second
        if (!signalled && out.includes('"step":1')) {
          signalled = true;
          child.kill(signal);
        }
      });
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(signalled).toBe(true);
      expect(code).toBe(0);
      const last = JSON.parse(out.trim().split('\n').at(-1) as string) as {
        stopped: string;
        steps: number;
      };
      expect(last.stopped).toBe('interrupted');
      const checkpoints = readdirSync(join(runDir, 'checkpoints'));
      // one complete checkpoint at the step where Ctrl-C landed, no temporary directory left
      expect(checkpoints).toEqual([`checkpoint-${last.steps}`]);
      expect(
        existsSync(join(runDir, 'checkpoints', checkpoints[0] as string, 'remax_state.json')),
      ).toBe(true);
      expect(existsSync(join(runDir, 'final'))).toBe(false);
      expect(err).toContain(`${signal}: stopped after step ${last.steps}`);
    },
    600_000,
  );
});
