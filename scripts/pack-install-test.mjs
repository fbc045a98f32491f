#!/usr/bin/env node
// Proves each package installs and works on its own, the way a user gets it:
// build, `pnpm pack` every publishable package, then for each one make a fresh npm
// project OUTSIDE the workspace, `npm install` its tarball (plus the tarballs of the
// @remax packages it depends on, standing in for the registry) and run its README's
// runnable example there against the repository's fixtures.
import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runnableExample } from './readme-example.mjs';
import { applyScope, readReleaseConfig } from './release-scope.mjs';

const root = resolve(import.meta.dirname, '..');
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const keep = process.argv.includes('--keep');
const work = mkdtempSync(join(tmpdir(), 'remax-pack-'));
const tarballs = join(work, 'tarballs');
mkdirSync(tarballs);

const run = (cmd, args, cwd, extra = {}) =>
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', ...extra });

const packages = readdirSync(join(root, 'packages'))
  .map((dir) => ({
    dir: join(root, 'packages', dir),
    pkg: JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')),
  }))
  .filter(({ pkg }) => !pkg.private);
const byName = new Map(packages.map((p) => [p.pkg.name, p]));
const { scope } = readReleaseConfig(root);

let passed = 0;
let failed = 0;
try {
  console.log(`pack-install: building ${packages.length} packages`);
  run(
    'pnpm',
    ['turbo', 'run', 'build', ...packages.flatMap((p) => ['--filter', p.pkg.name])],
    root,
    { env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' } },
  );
  const tarballOf = new Map();
  for (const { dir, pkg } of packages) {
    const out = run('pnpm', ['pack', '--pack-destination', tarballs], dir).trim().split('\n').pop();
    tarballOf.set(pkg.name, applyScope(out, scope, work));
  }
  for (const { dir, pkg } of packages) {
    if (only.length > 0 && !only.includes(pkg.name)) continue;
    const name = pkg.name;
    try {
      const project = join(work, `use-${name.replace(/[@/]/g, '_')}`);
      mkdirSync(project);
      writeFileSync(
        join(project, 'package.json'),
        JSON.stringify({ name: 'user-project', private: true, type: 'module' }),
      );
      symlinkSync(join(root, 'fixtures'), join(project, 'fixtures'));
      const { language, code } = runnableExample(
        readFileSync(join(dir, 'README.md'), 'utf8'),
        `${dir}/README.md`,
      );
      // the package, its @remax dependencies, and the @remax packages its README example imports
      const imported = [...code.matchAll(/from '(@remax\/[a-z-]+)'/g)].map((m) => m[1]);
      const seen = new Set();
      const needed = [name, ...imported]
        .flatMap((n) => internalClosure(n, seen))
        .map((n) => tarballOf.get(n));
      const scoped = scope === '@remax' ? code : code.replaceAll('@remax/', `${scope}/`);
      const file = join(project, `example.${language === 'ts' ? 'ts' : 'mjs'}`);
      writeFileSync(file, scoped);
      run(
        'npm',
        [
          'install',
          '--no-audit',
          '--no-fund',
          '--ignore-scripts',
          ...needed,
          ...(language === 'ts' ? ['tsx'] : []),
        ],
        project,
      );
      const args = language === 'ts' ? ['--import', 'tsx', file] : [file];
      const output = run('node', args, project, { timeout: 300_000 });
      console.log(
        `ok   ${name}: README example ran from an npm install (${output.trim().split('\n').length} lines of output)`,
      );
      passed++;
    } catch (e) {
      failed++;
      console.log(`FAIL ${name}: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
  }
} finally {
  if (!keep) rmSync(work, { recursive: true, force: true });
  else console.log(`kept ${work}`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);

/** The package and every @remax package it depends on, transitively. */
function internalClosure(name, seen = new Set()) {
  if (seen.has(name)) return [];
  seen.add(name);
  const deps = Object.keys(byName.get(name)?.pkg.dependencies ?? {}).filter((d) => byName.has(d));
  return [name, ...deps.flatMap((d) => internalClosure(d, seen))];
}
