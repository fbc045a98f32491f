/** Machine-readable error codes shared by every @remax package. */
export type RemaxErrorCode =
  | 'E_CONFIG'
  | 'E_INPUT'
  | 'E_FILE'
  | 'E_FORMAT'
  | 'E_UNSUPPORTED'
  | 'E_CHECKPOINT'
  | 'E_UNSAFE_PICKLE'
  | 'E_SHAPE'
  | 'E_BACKEND'
  | 'E_TOKENIZER'
  | 'E_NUMERIC'
  | 'E_STATE'
  /** A run directory already holds a run (refused unless resumed or overwritten). */
  | 'E_RUN_EXISTS'
  /** Training stopped: too many consecutive updates skipped for non-finite values. */
  | 'E_DIVERGED'
  /** A write failed (disk full, I/O error); names the file. */
  | 'E_IO'
  /** A serving engine (vLLM or `serve`) failed or answered something malformed. */
  | 'E_ENGINE';

export interface RemaxErrorDetails {
  /** File the problem was found in, when there is one. */
  file?: string;
  /** Field, tensor name or key path involved. */
  field?: string;
  /** The offending value (kept small: it is shown in the message). */
  value?: unknown;
  /** What would have been valid. */
  expected?: string;
  cause?: unknown;
}

/**
 * The one error type thrown by @remax packages. `code` is stable for programs;
 * the message names the file / field / value and what was expected, for people.
 */
export class RemaxError extends Error {
  readonly code: RemaxErrorCode;
  readonly file: string | undefined;
  readonly field: string | undefined;
  readonly value: unknown;
  readonly expected: string | undefined;

  constructor(code: RemaxErrorCode, message: string, details: RemaxErrorDetails = {}) {
    super(formatMessage(message, details), details.cause ? { cause: details.cause } : undefined);
    this.name = 'RemaxError';
    this.code = code;
    this.file = details.file;
    this.field = details.field;
    this.value = details.value;
    this.expected = details.expected;
  }
}

function formatMessage(message: string, d: RemaxErrorDetails): string {
  const parts: string[] = [];
  if (d.file !== undefined) parts.push(d.file);
  if (d.field !== undefined) parts.push(d.field);
  let out = parts.length > 0 ? `${parts.join(': ')}: ${message}` : message;
  if (d.value !== undefined) out += ` (got ${describeValue(d.value)})`;
  if (d.expected !== undefined) out += `; expected ${d.expected}`;
  return out;
}

/** A short, printable rendering of any value for error messages. */
export function describeValue(value: unknown, maxLength = 80): string {
  let s: string;
  if (typeof value === 'string') s = JSON.stringify(value);
  else if (typeof value === 'bigint') s = `${value}n`;
  else if (value === undefined) s = 'undefined';
  else if (typeof value === 'function') s = 'a function';
  else {
    try {
      s = JSON.stringify(value) ?? String(value);
    } catch {
      s = String(value);
    }
  }
  return s.length > maxLength ? `${s.slice(0, maxLength - 1)}…` : s;
}

export function isRemaxError(e: unknown, code?: RemaxErrorCode): e is RemaxError {
  return e instanceof RemaxError && (code === undefined || e.code === code);
}
