import { fileURLToPath } from 'node:url';

/** Repository fixtures (a copy of the shared golden fixtures), reached relative to this file. */
export function fixtureModel(name: string): string {
  return fileURLToPath(new URL(`../../../fixtures/models/${name}`, import.meta.url));
}
