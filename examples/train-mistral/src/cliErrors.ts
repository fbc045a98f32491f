// How the CLI ends on an error: one line, `error [CODE]: message`, and an exit
// code; the stack only with REMAX_DEBUG=1.
import { isRemaxError } from '@remax/core';

/** A message on one line: zod's issue lists ("\n  - a: ...") become "; "-separated. */
export function oneLine(message: string): string {
  return message
    .split('\n')
    .map((l) => l.trim().replace(/^- /, ''))
    .filter((l) => l !== '')
    .join('; ')
    .replace(/:; /g, ': ');
}

/** Writes the error and returns the exit code (2 for a typed error, 1 for anything else). */
export function reportCliError(
  e: unknown,
  out: { write(text: string): unknown },
  debug: boolean,
): number {
  const typed = isRemaxError(e);
  const message = e instanceof Error ? e.message : String(e);
  out.write(`error${typed ? ` [${e.code}]` : ''}: ${oneLine(message)}\n`);
  if (debug && e instanceof Error && e.stack) out.write(`${e.stack}\n`);
  else if (!typed) out.write('(set REMAX_DEBUG=1 for the stack trace)\n');
  return typed ? 2 : 1;
}
