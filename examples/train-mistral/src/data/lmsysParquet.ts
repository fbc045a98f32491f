import { RemaxError } from '@remax/core';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { parquetWriteFile } from 'hyparquet-writer';
import { type LmsysRow, lmsysParquetSchema } from './lmsysSchema.js';

/** Writes rows as a parquet file in the lmsys-chat-1m schema. */
export function writeLmsysParquet(path: string, rows: readonly LmsysRow[]): void {
  parquetWriteFile({
    filename: path,
    schema: lmsysParquetSchema(),
    columnData: [
      { name: 'conversation_id', data: rows.map((r) => r.conversation_id) },
      { name: 'model', data: rows.map((r) => r.model) },
      { name: 'conversation', data: rows.map((r) => r.conversation) },
      { name: 'turn', data: rows.map((r) => BigInt(r.turn)) },
      { name: 'language', data: rows.map((r) => r.language) },
      { name: 'openai_moderation', data: rows.map((r) => r.openai_moderation) },
      { name: 'redacted', data: rows.map((r) => r.redacted) },
    ],
  });
}

/** Reads the columns prompt selection needs from one lmsys-chat-1m parquet shard. */
export async function readLmsysParquet(path: string): Promise<Record<string, unknown>[]> {
  try {
    const file = await asyncBufferFromFile(path);
    return await parquetReadObjects({
      file,
      columns: ['conversation_id', 'conversation', 'language', 'redacted', 'turn', 'model'],
    });
  } catch (cause) {
    // hyparquet throws plain Errors (truncated footer, bad magic, missing column)
    throw new RemaxError(
      'E_FORMAT',
      `not a readable lmsys-chat-1m parquet file: ${(cause as Error).message}`,
      {
        file: path,
        expected: 'a complete parquet shard with the lmsys-chat-1m columns',
        cause,
      },
    );
  }
}
