import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

// Runs the README's example exactly as written (extracted from README.md), so the
// documentation cannot drift from the code.
it('the README example runs and prints what it says', async () => {
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
  const code = /## Example\s+```ts runnable\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(code).toBeDefined();
  const script = fileURLToPath(new URL(`./.readme-example-${process.pid}.ts`, import.meta.url));
  await writeFile(script, code!);
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--conditions=@remax/source', '--import', 'tsx', script],
      { cwd: fileURLToPath(new URL('..', import.meta.url)) },
    );
    expect(stdout).toContain("'model-00001-of-00002.safetensors'");
    expect(stdout).toContain('model.safetensors.index.json');
    expect(stdout).toContain("embed.weight { dtype: 'BF16', shape: [ 4, 2 ] }");
    expect(stdout.trim().split('\n').at(-1)).toBe('4100 8 8');
  } finally {
    await rm(script, { force: true });
  }
});
