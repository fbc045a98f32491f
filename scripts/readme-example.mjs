// Extracts a package README's runnable example: the first fenced block whose info
// string is `js runnable` or `ts runnable`. Paths in it are relative to a project
// that has the repository's `fixtures/` folder next to it.
export function runnableExample(markdown, file) {
  const match = /```(js|ts) runnable\n([\s\S]*?)```/.exec(markdown);
  if (!match) {
    throw new Error(`${file}: no \`\`\`js runnable (or ts runnable) block: the package's example`);
  }
  return { language: match[1], code: match[2] };
}
