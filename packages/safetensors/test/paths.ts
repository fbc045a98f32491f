import { fileURLToPath } from 'node:url';

/** Repository fixtures (a copy of the shared golden fixtures), reached relative to this file. */
export function fixtureModel(name: string): string {
  return fileURLToPath(new URL(`../../../fixtures/models/${name}`, import.meta.url));
}

/** Small files made by test/test-fixtures/make_torch_fixtures.py (committed). */
export function testFixture(name: string): string {
  return fileURLToPath(new URL(`./test-fixtures/${name}`, import.meta.url));
}
