import { fileURLToPath } from 'node:url';

/**
 * Repository fixtures, reached relative to this file: the shared golden set
 * (fixtures/models/<name>) or the unseen one (fixtures/unseen/unseen-*).
 */
export function fixtureModel(name: string): string {
  const set = name.startsWith('unseen-') ? 'unseen' : 'models';
  return fileURLToPath(new URL(`../../../fixtures/${set}/${name}`, import.meta.url));
}

/** Small files made by test/test-fixtures/make_torch_fixtures.py (committed). */
export function testFixture(name: string): string {
  return fileURLToPath(new URL(`./test-fixtures/${name}`, import.meta.url));
}
