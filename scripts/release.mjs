#!/usr/bin/env node
// Publishes every non-private package: build, pack (workspace: ranges resolved by
// pnpm), apply the scope from release.config.json, npm publish. Run after
// `pnpm changeset version` has bumped versions and written changelogs.
// Usage: node scripts/release.mjs [--dry-run]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { applyScope, readReleaseConfig } from './release-scope.mjs';

const root = resolve(import.meta.dirname, '..');
const dryRun = process.argv.includes('--dry-run');
const { scope } = readReleaseConfig(root);
const work = mkdtempSync(join(tmpdir(), 'remax-release-'));
execFileSync('pnpm', ['turbo', 'run', 'build'], { cwd: root, stdio: 'inherit' });
for (const dir of readdirSync(join(root, 'packages'))) {
  const pkgDir = join(root, 'packages', dir);
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  if (pkg.private) continue;
  const tarball = execFileSync('pnpm', ['pack', '--pack-destination', work], {
    cwd: pkgDir,
    encoding: 'utf8',
  })
    .trim()
    .split('\n')
    .pop();
  const scoped = applyScope(tarball, scope, work);
  execFileSync('npm', ['publish', scoped, '--access', 'public', ...(dryRun ? ['--dry-run'] : [])], {
    stdio: 'inherit',
  });
}
