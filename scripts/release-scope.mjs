// The npm scope packages are published under is configured in ONE place,
// release.config.json. The code always says "@remax/..."; a packed tarball is
// rewritten to another scope (package names, internal dependency names and import
// specifiers) at pack time, so publishing elsewhere is a config change, not a rename.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

export function readReleaseConfig(root) {
  const config = JSON.parse(readFileSync(join(root, 'release.config.json'), 'utf8'));
  if (typeof config.scope !== 'string' || !/^@[a-z0-9][a-z0-9._-]*$/.test(config.scope)) {
    throw new Error(
      `release.config.json: scope must look like "@name" (got ${JSON.stringify(config.scope)})`,
    );
  }
  return config;
}

/** Returns the path of a tarball published under `scope` (the input itself for @remax). */
export function applyScope(tarball, scope, workDir) {
  if (scope === '@remax') return tarball;
  const dir = mkdtempSync(join(workDir, 'scope-'));
  execFileSync('tar', ['-xzf', tarball, '-C', dir]);
  const pkgDir = join(dir, 'package');
  rewriteTree(pkgDir, scope);
  const out = join(workDir, basename(tarball).replace(/^remax-/, `${scope.slice(1)}-`));
  execFileSync('tar', ['-czf', out, '-C', dir, 'package']);
  return out;
}

function rewriteTree(dir, scope) {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) rewriteTree(path, scope);
    else if (/\.(js|mjs|cjs|ts|mts|map|json|md)$/.test(entry)) {
      const text = readFileSync(path, 'utf8');
      const next = text.replaceAll('@remax/', `${scope}/`);
      if (next !== text) writeFileSync(path, next);
    }
  }
}
