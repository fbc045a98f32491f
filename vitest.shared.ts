// Shared vitest settings: workspace packages resolve to their TypeScript sources
// (the "@remax/source" export condition), so tests need no build of dependencies.
import { defineConfig } from 'vitest/config';

const conditions = ['@remax/source', 'node', 'import', 'module', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@remax/source'] } },
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    include: ['test/**/*.test.ts'],
  },
});
