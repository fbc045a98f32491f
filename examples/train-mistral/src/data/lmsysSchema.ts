import type { parquetWriteFile } from 'hyparquet-writer';

// the schema type of the writer's own hyparquet (it may pin another version than ours)
type SchemaElement = NonNullable<Parameters<typeof parquetWriteFile>[0]['schema']>[number];

/** One message of an lmsys-chat-1m conversation. */
export interface LmsysMessage {
  content: string;
  role: string;
}

/** One OpenAI moderation result (one per message in lmsys-chat-1m). */
export interface LmsysModeration {
  categories: Record<string, boolean>;
  category_scores: Record<string, number>;
  flagged: boolean;
}

/** One row of lmsys-chat-1m, with the dataset's column names verbatim. */
export interface LmsysRow {
  conversation_id: string;
  model: string;
  conversation: LmsysMessage[];
  turn: number;
  language: string;
  openai_moderation: LmsysModeration[];
  redacted: boolean;
}

/** The eleven moderation categories lmsys-chat-1m stores, in its order. */
export const MODERATION_CATEGORIES = [
  'harassment',
  'harassment/threatening',
  'hate',
  'hate/threatening',
  'self-harm',
  'self-harm/instructions',
  'self-harm/intent',
  'sexual',
  'sexual/minors',
  'violence',
  'violence/graphic',
] as const;

const utf8 = { type: 'BYTE_ARRAY', converted_type: 'UTF8' } as const;

/** A parquet LIST of `element` (the 3-level layout pyarrow writes). */
function listOf(name: string, element: SchemaElement[]): SchemaElement[] {
  return [
    { name, repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
    { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
    ...element,
  ];
}

/**
 * The parquet schema of lmsys-chat-1m as published (pyarrow layout): nested
 * lists of structs for `conversation` and `openai_moderation`, int64 `turn`.
 */
export function lmsysParquetSchema(): SchemaElement[] {
  const cats = MODERATION_CATEGORIES;
  return [
    { name: 'schema', num_children: 7 },
    { name: 'conversation_id', repetition_type: 'OPTIONAL', ...utf8 },
    { name: 'model', repetition_type: 'OPTIONAL', ...utf8 },
    ...listOf('conversation', [
      { name: 'element', repetition_type: 'OPTIONAL', num_children: 2 },
      { name: 'content', repetition_type: 'OPTIONAL', ...utf8 },
      { name: 'role', repetition_type: 'OPTIONAL', ...utf8 },
    ]),
    { name: 'turn', repetition_type: 'OPTIONAL', type: 'INT64' },
    { name: 'language', repetition_type: 'OPTIONAL', ...utf8 },
    ...listOf('openai_moderation', [
      { name: 'element', repetition_type: 'OPTIONAL', num_children: 3 },
      { name: 'categories', repetition_type: 'OPTIONAL', num_children: cats.length },
      ...cats.map(
        (c): SchemaElement => ({ name: c, repetition_type: 'OPTIONAL', type: 'BOOLEAN' }),
      ),
      { name: 'category_scores', repetition_type: 'OPTIONAL', num_children: cats.length },
      ...cats.map((c): SchemaElement => ({ name: c, repetition_type: 'OPTIONAL', type: 'DOUBLE' })),
      { name: 'flagged', repetition_type: 'OPTIONAL', type: 'BOOLEAN' },
    ]),
    { name: 'redacted', repetition_type: 'OPTIONAL', type: 'BOOLEAN' },
  ];
}
