#!/usr/bin/env node
// Checks the release bookkeeping without touching the checkout: in a scratch copy
// of the repository, add a changeset for @remax/core, run `changeset version`, and
// verify that core's version, its dependents' versions and ranges, and the
// changelogs come out right.
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const scratch = mkdtempSync(join(tmpdir(), 'remax-changeset-'));
const failures = [];
const check = (ok, what) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
};
const readPkg = (dir, base = root) =>
  JSON.parse(readFileSync(join(base, dir, 'package.json'), 'utf8'));
try {
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
  })
    .split('\n')
    .filter((f) => f && !f.startsWith('fixtures/') && existsSync(join(root, f)));
  for (const f of files) {
    mkdirSync(dirname(join(scratch, f)), { recursive: true });
    cpSync(join(root, f), join(scratch, f));
  }
  symlinkSync(join(root, 'node_modules'), join(scratch, 'node_modules'));
  // only the scratch changeset, so every dependent bump below comes from core's
  for (const f of readdirSync(join(scratch, '.changeset'))) {
    if (f.endsWith('.md') && f !== 'README.md') rmSync(join(scratch, '.changeset', f));
  }
  writeFileSync(
    join(scratch, '.changeset', 'zz-scratch-core-minor.md'),
    '---\n"@remax/core": minor\n---\n\nScratch change used by the release test.\n',
  );
  const dirs = files
    .filter((f) => /^(packages|examples)\/[^/]+\/package\.json$/.test(f))
    .map(dirname);
  const before = new Map(dirs.map((d) => [d, readPkg(d)]));
  execFileSync(process.execPath, [join(root, 'node_modules/@changesets/cli/bin.js'), 'version'], {
    cwd: scratch,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const core = readPkg('packages/core', scratch);
  const coreBefore = before.get('packages/core');
  check(
    core.version !== coreBefore.version,
    `@remax/core bumped ${coreBefore.version} -> ${core.version}`,
  );
  check(
    readFileSync(join(scratch, 'packages/core/CHANGELOG.md'), 'utf8').includes(
      'Scratch change used by the release test.',
    ),
    'core CHANGELOG.md holds the changeset text',
  );
  for (const d of dirs) {
    const was = before.get(d);
    const now = readPkg(d, scratch);
    if (was.private || d === 'packages/core') continue;
    const range = now.dependencies?.['@remax/core'];
    if (!range) continue;
    check(
      now.version !== was.version,
      `${now.name} (depends on core) bumped ${was.version} -> ${now.version}`,
    );
    check(
      range.startsWith('workspace:'),
      `${now.name} keeps a workspace range for core (${range}), resolved to ^${core.version} on pack`,
    );
    check(existsSync(join(scratch, d, 'CHANGELOG.md')), `${now.name} has a CHANGELOG.md`);
  }
  check(
    !existsSync(join(scratch, '.changeset', 'zz-scratch-core-minor.md')),
    'consumed changesets are deleted',
  );
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
console.log(
  `${failures.length === 0 ? 'changeset version: all checks passed' : `${failures.length} checks failed`}`,
);
process.exit(failures.length > 0 ? 1 : 0);
