// Hugging Face chat templates (Jinja, from tokenizer_config.json) rendered with
// @huggingface/jinja, with one rule HF's own pipeline lacks: a control token can
// come from the template, never from a message.
import { Template } from '@huggingface/jinja';
import { RemaxError } from '@remax/core';
import type { ChatMessage } from './chat.js';

/** What the renderer needs from the tokenizer. */
export interface TemplateVocab {
  /** Control-token texts (`<s>`, `</s>`, `<unk>`...) -> ids: the only texts split out of the render. */
  readonly specials: ReadonlyMap<string, number>;
  /** The `bos_token` / `eos_token` / `unk_token` / `pad_token` the template sees (null when none). */
  readonly tokens: Readonly<
    Record<'bos_token' | 'eos_token' | 'unk_token' | 'pad_token', string | null>
  >;
}

export interface RenderChatOptions {
  /** Ask the template to end with the assistant's turn opener (default false). */
  addGenerationPrompt?: boolean;
}

/** A rendered conversation: template text and message text, with control tokens split out. */
export type ChatPart = { special: number } | { text: string };

export interface RenderedChat {
  /** Exactly what Jinja renders from the messages as given. */
  text: string;
  /** The same text, control tokens (from the template only) as ids. */
  parts: ChatPart[];
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** First Private Use Area characters absent from every string in `avoid`, one per special. */
function placeholdersFor(specials: readonly string[], avoid: readonly string[]): string[] {
  const out: string[] = [];
  for (let cp = 0xf0000; out.length < specials.length && cp <= 0xffffd; cp++) {
    const ch = String.fromCodePoint(cp);
    if (!avoid.some((s) => s.includes(ch))) out.push(ch);
  }
  if (out.length < specials.length) {
    throw new RemaxError('E_INPUT', 'no free placeholder characters for the chat template', {
      field: 'messages',
      expected: 'text that does not use the whole Supplementary Private Use Area-A',
    });
  }
  return out;
}

/** Parsed templates by source (a run renders one template for every prompt). */
const parsed = new Map<string, Template>();
const MAX_PARSED = 8;

function parseTemplate(source: string, file: string): Template {
  const cached = parsed.get(source);
  if (cached) return cached;
  try {
    const template = new Template(source);
    if (parsed.size >= MAX_PARSED) parsed.clear();
    parsed.set(source, template);
    return template;
  } catch (cause) {
    throw new RemaxError('E_FORMAT', 'chat template is not valid Jinja', {
      file,
      field: 'chat_template',
      cause,
    });
  }
}

/**
 * Renders `messages` with a Jinja chat template. Control-token text typed inside a
 * message ("</s>", "<s>") is swapped for a private placeholder character before
 * rendering and swapped back after the render is split at control tokens, so it
 * stays plain text wherever the template puts it, while `bos_token`/`eos_token`
 * and literal control tokens the template writes become ids. String methods the
 * templates use on contents (strip, trim, upper) leave placeholders alone.
 */
export function renderChatTemplate(
  source: string,
  messages: readonly ChatMessage[],
  vocab: TemplateVocab,
  options: RenderChatOptions = {},
  file = 'chat_template',
): RenderedChat {
  const template = parseTemplate(source, file);
  // longest first, so "</s>" is never read as a shorter special inside it
  const specials = [...vocab.specials.keys()].sort((a, b) => b.length - a.length);
  const contents = messages.map((m) => m.content);
  const holders = placeholdersFor(specials, [source, ...contents, ...specials]);
  const toHolder = new Map(specials.map((s, i) => [s, holders[i]!]));
  const fromHolder = new Map(specials.map((s, i) => [holders[i]!, s]));
  const specialRe =
    specials.length > 0 ? new RegExp(specials.map(escapeRegExp).join('|'), 'g') : null;
  const holderRe = holders.length > 0 ? new RegExp(holders.map(escapeRegExp).join('|'), 'g') : null;
  const hide = (s: string) => (specialRe ? s.replace(specialRe, (m) => toHolder.get(m)!) : s);
  const restore = (s: string) => (holderRe ? s.replace(holderRe, (m) => fromHolder.get(m)!) : s);

  let rendered: string;
  try {
    rendered = template.render({
      messages: messages.map((m) => ({ role: m.role, content: hide(m.content) })),
      ...vocab.tokens,
      add_generation_prompt: options.addGenerationPrompt ?? false,
    });
  } catch (cause) {
    // raise_exception(...) in the template: the conversation breaks its rules
    throw new RemaxError(
      'E_INPUT',
      `chat template refused the messages: ${cause instanceof Error ? cause.message : String(cause)}`,
      { file, field: 'messages', cause },
    );
  }
  const parts: ChatPart[] = [];
  let last = 0;
  const pushText = (raw: string) => {
    if (raw.length > 0) parts.push({ text: restore(raw) });
  };
  for (const m of specialRe ? rendered.matchAll(specialRe) : []) {
    pushText(rendered.slice(last, m.index));
    parts.push({ special: vocab.specials.get(m[0])! });
    last = m.index + m[0].length;
  }
  pushText(rendered.slice(last));
  return { text: restore(rendered), parts };
}
