// Every CLI error is one typed line (the stack only with REMAX_DEBUG=1), and
// the checks that must fail before any model loads do.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { loadRunConfig } from '../src/config/load.js';
import { packageDir, tinyYaml } from './runHelpers.js';

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(
    process.execPath,
    ['--conditions=@remax/source', '--import', 'tsx', 'src/cli.ts', ...args],
    { cwd: packageDir, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 },
  );
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The CLI failed with exactly one line `error [code]: ...` matching `problem`. */
function expectOneLineError(r: ReturnType<typeof cli>, code: string, problem: RegExp) {
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^error \\[${code}\\]: `));
  expect(lines[0]).toMatch(problem);
}

const tmp = mkdtempSync(join(tmpdir(), 'remax-cli-'));

// each test starts the CLI 1-4 times (tsx + config load: 2-15 s each on a loaded machine)
describe('CLI errors', { timeout: 600_000 }, () => {
  it('usage errors (unknown option, bad choice) are typed one-line errors', () => {
    expectOneLineError(cli(['train', '--bogus']), 'E_CONFIG', /unknown option '--bogus'/);
    expectOneLineError(cli(['plan', '--algo', 'a2c']), 'E_CONFIG', /Allowed choices are remax/);
  });

  it('--version prints the package version', () => {
    const r = cli(['--version']);
    expect(r.code).toBe(0);
    const { version } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
    expect(r.stdout.trim()).toBe(version);
  });

  it('ablate --algos with an unknown algorithm', () => {
    expectOneLineError(cli(['ablate', '--algos', 'remax,dpo']), 'E_CONFIG', /--algos.*"dpo"/);
  });

  it('plan --strict exits non-zero when the run does not fit, zero when it does', () => {
    expectOneLineError(
      cli(['plan', '--strict', '--memory-limit', '0.0001']),
      'E_CONFIG',
      /does not fit/,
    );
    expect(cli(['plan', '--strict', '--memory-limit', '1000']).code).toBe(0);
    expect(cli(['plan', '--memory-limit', '0.0001']).code).toBe(0); // without --strict: a report
  });

  it('prepare-data on an empty source fails (no 0-prompt file written)', () => {
    const empty = join(tmp, 'empty.jsonl');
    writeFileSync(empty, '');
    const out = join(tmp, 'out.jsonl');
    expectOneLineError(
      cli(['prepare-data', '--input', empty, '--output', out]),
      'E_INPUT',
      /too few prompts.*0 kept of 0 read/,
    );
  });

  it('a JSONL line `null` names file:line', () => {
    const bad = join(tmp, 'null-line.jsonl');
    writeFileSync(bad, '{"prompt":"hi"}\nnull\n');
    expectOneLineError(
      cli(['prepare-data', '--input', bad, '--output', join(tmp, 'o.jsonl')]),
      'E_FORMAT',
      new RegExp(`${bad}:2: prompt row is not a JSON object`),
    );
  });

  it('eval --prompts refuses a prompt longer than data.max_prompt_seq', () => {
    const long = join(tmp, 'long.jsonl');
    writeFileSync(
      long,
      `${JSON.stringify({ prompt: 'ok' })}\n${JSON.stringify({ prompt: 'word '.repeat(200) })}\n`,
    );
    expectOneLineError(
      cli(['eval', '--policy', tmp, '--baseline', tmp, '--prompts', long]),
      'E_INPUT',
      /prompt 2: prompt is longer than data\.max_prompt_seq/,
    );
  });

  it('train into a directory that holds a run: E_RUN_EXISTS; --resume with a key it cannot change', () => {
    const runDir = join(tmp, 'run');
    mkdirSync(runDir);
    writeFileSync(join(runDir, 'config.yaml'), YAML.stringify(loadRunConfig(tinyYaml).config));
    expectOneLineError(
      cli(['train', '--run-dir', runDir]),
      'E_RUN_EXISTS',
      /already holds a run.*--resume.*--overwrite/,
    );
    expectOneLineError(
      cli(['train', '--resume', runDir, '--set', 'optim.lr=1e-3']),
      'E_CONFIG',
      /optim\.lr: this key cannot change on resume/,
    );
    expectOneLineError(
      cli(['train', '--resume', runDir, '--algo', 'ppo']),
      'E_CONFIG',
      /--algo: the algorithm cannot change on resume/,
    );
    expectOneLineError(
      cli(['train', '--resume', runDir, '--config', tinyYaml]),
      'E_CONFIG',
      /--config: option cannot be combined with --resume/,
    );
  });

  it('a config error is one line; REMAX_DEBUG=1 adds the stack', () => {
    const r = cli(['plan', '--set', 'train.micro_batch_size=5']);
    expectOneLineError(r, 'E_CONFIG', /train\.micro_batch_size: must divide train\.batch_size/);
    const debug = cli(['plan', '--set', 'train.micro_batch_size=5'], { REMAX_DEBUG: '1' });
    expect(debug.code).toBe(2);
    expect(debug.stderr).toMatch(/\n\s+at /);
  });
});
