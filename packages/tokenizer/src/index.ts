export type { PadOptions, Side, TokenIdBatch } from './batch.js';
export { padBatch, truncateIds } from './batch.js';
export type { ChatMessage, ChatRole, ChatTemplate } from './chat.js';
export { encodeMistralV1 } from './chat.js';
export type { DecodeOptions } from './decode.js';
export { StreamDecoder } from './streamDecoder.js';
export type { EncodeBatchOptions, EncodeOptions, TokenizerOptions } from './tokenizer.js';
export { Tokenizer } from './tokenizer.js';
export { toWellFormed } from './utf8.js';
