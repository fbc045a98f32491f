// The PyTorch anchor (issue 18): the same ReMax / PPO step written the way a
// Python user would (liziniu/ReMax on HF-style modules), run next to our bench
// so the ratios come from one session on one machine. The script lives outside
// the repository (../shared/anchor next to a clean clone); it is run, never copied.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join('anchor', 'torch_remax_step.py');

/** Median seconds per phase, as the anchor prints them. */
export interface AnchorResult {
  generate: number;
  score: number;
  train: number;
  total: number;
  torch: string;
}

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** Candidate `shared` folders: $REMAX_SHARED, ../shared of the repo root, and of the main checkout of a git worktree. */
function sharedDirs(): string[] {
  const dirs: string[] = [];
  const env = process.env['REMAX_SHARED'];
  if (env) dirs.push(env);
  dirs.push(join(repoRoot, '..', 'shared'));
  try {
    // in a worktree the main checkout's .git is the common dir; its parent's sibling is ../shared
    const common = execFileSync('git', ['rev-parse', '--git-common-dir'], {
      cwd: repoRoot,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    const abs = isAbsolute(common) ? common : resolve(repoRoot, common);
    dirs.push(join(dirname(dirname(abs)), 'shared'));
  } catch {
    // not a git checkout (an unpacked tarball): the first two candidates only
  }
  return dirs;
}

/** Why the anchor cannot run here, or null when it can; `script` is its path. */
export function findAnchor(): { script: string } | { missing: string } {
  const script = sharedDirs()
    .map((d) => join(d, SCRIPT))
    .find((p) => existsSync(p));
  if (!script) {
    return {
      missing: `no ${SCRIPT} under ${sharedDirs().join(' or ')} (set REMAX_SHARED to the folder holding anchor/)`,
    };
  }
  if (!existsSync(PYTHON)) return { missing: `${PYTHON} not found` };
  try {
    execFileSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
  } catch {
    return { missing: `${PYTHON} cannot import torch` };
  }
  return { script };
}

/** How to get the ratios when the anchor cannot run. */
export function anchorHint(missing: string): string {
  return `${missing}. To print the PyTorch ratios: apt-get install -y python3-torch libopenblas0-pthread, and keep the anchor at ../shared/${SCRIPT} next to the repository (see its README).`;
}

/** Runs `steps` measured steps (after one warm-up) of the anchor; medians per phase. */
export function runAnchor(script: string, algo: 'remax' | 'ppo', steps: number): AnchorResult {
  const out = execFileSync(PYTHON, [script, 'small', String(steps), algo], {
    encoding: 'utf8',
    // OpenBLAS misdetects this class of VM's CPU and runs ~5x slower without it (anchor README)
    env: { ...process.env, OPENBLAS_CORETYPE: 'SKYLAKEX' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = out.trim().split('\n').at(-1) ?? '';
  const parsed = JSON.parse(line) as { median_s: Omit<AnchorResult, 'torch'>; torch: string };
  return { ...parsed.median_s, torch: parsed.torch };
}

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1
    ? (s[mid] as number)
    : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}
