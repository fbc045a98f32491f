#!/bin/sh
# One entry point for the README's two commands: bootstraps pnpm (corepack cannot
# verify signatures here), installs the workspace, then runs the tests or the demo.
set -eu
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 ORT_DISABLE_TELEMETRY=1
PNPM_VERSION=10.34.9
if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  npm i -g "pnpm@$PNPM_VERSION" >/dev/null 2>&1 || true
fi
if [ "$(pnpm --version 2>/dev/null || true)" = "$PNPM_VERSION" ]; then
  PNPM=pnpm
else
  PNPM="npx -y pnpm@$PNPM_VERSION"
fi
$PNPM install --frozen-lockfile
case "${1:-test}" in
  test) $PNPM run ci:test ;;
  demo) $PNPM turbo run build --filter=@remax/example-train-mistral... && $PNPM --filter @remax/example-train-mistral run demo ;;
  *) echo "usage: scripts/run.sh test|demo" >&2; exit 2 ;;
esac
