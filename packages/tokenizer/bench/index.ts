// `pnpm bench`: encode throughput on a ~2 MB mixed corpus, ours and the fastest JS
// peers, in the same process. One JSON object per line on stdout.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '../src/index.js';
import { buildCorpus } from './corpus.js';

const FIXTURES = fileURLToPath(new URL('../../../fixtures/tokenizers/', import.meta.url));
const ROUNDS = 3;

const texts = buildCorpus();
const encoder = new TextEncoder();
const totalBytes = texts.reduce((n, t) => n + encoder.encode(t).length, 0);
const mb = totalBytes / 1e6;

interface Result {
  name: string;
  mode: 'per_text' | 'batched';
  mbPerS: number;
  firstPassMbPerS: number;
}

function measure(name: string, mode: Result['mode'], run: () => void): Result {
  const times: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    run();
    times.push((performance.now() - t0) / 1000);
  }
  const result = {
    name,
    mode,
    mbPerS: +(mb / Math.min(...times)).toFixed(3),
    firstPassMbPerS: +(mb / times[0]!).toFixed(3),
  };
  console.log(
    JSON.stringify({ bench: 'encode', corpusMB: +mb.toFixed(3), texts: texts.length, ...result }),
  );
  return result;
}

const results: Result[] = [];
let reference: number[][] = [];

for (const file of ['mistral-v1.model', 'mistral-v1-tokenizer.json']) {
  const tok = await Tokenizer.fromFile(FIXTURES + file);
  const out: number[][] = [];
  results.push(
    measure(`@remax/tokenizer (${file})`, 'per_text', () => {
      out.length = 0;
      for (const t of texts) out.push(tok.encode(t));
    }),
  );
  if (reference.length === 0) reference = out.slice();
  const fresh = await Tokenizer.fromFile(FIXTURES + file);
  results.push(
    measure(`@remax/tokenizer (${file})`, 'batched', () => {
      for (let i = 0; i < texts.length; i += 64) fresh.encodeBatch(texts.slice(i, i + 64));
    }),
  );
}

function agreement(name: string, encode: (t: string) => number[]): void {
  let differ = 0;
  let withSpecialText = 0;
  texts.forEach((t, i) => {
    if (JSON.stringify(encode(t)) !== JSON.stringify(reference[i])) {
      differ++;
      if (/<\/?s>|<unk>/.test(t)) withSpecialText++;
    }
  });
  console.log(
    JSON.stringify({
      bench: 'agreement',
      name,
      texts: texts.length,
      differ,
      differWithSpecialTokenText: withSpecialText,
    }),
  );
}

try {
  const { SentencePieceProcessor } = await import('@agnai/sentencepiece-js');
  const spp = new SentencePieceProcessor();
  await spp.load(`${FIXTURES}mistral-v1.model`);
  results.push(
    measure('@agnai/sentencepiece-js (wasm SentencePiece)', 'per_text', () => {
      for (const t of texts) spp.encodeIds(t);
    }),
  );
  agreement('@agnai/sentencepiece-js', (t) => spp.encodeIds(t));
} catch (e) {
  console.log(
    JSON.stringify({ bench: 'skipped', name: '@agnai/sentencepiece-js', reason: String(e) }),
  );
}

try {
  const { Tokenizer: HfTokenizer } = await import('@huggingface/tokenizers');
  const json = JSON.parse(readFileSync(`${FIXTURES}mistral-v1-tokenizer.json`, 'utf8'));
  const config = JSON.parse(readFileSync(`${FIXTURES}mistral-v1-tokenizer_config.json`, 'utf8'));
  const hf = new HfTokenizer(json, config);
  results.push(
    measure('@huggingface/tokenizers', 'per_text', () => {
      for (const t of texts) hf.encode(t, { add_special_tokens: false });
    }),
  );
  agreement('@huggingface/tokenizers', (t) => hf.encode(t, { add_special_tokens: false }).ids);
} catch (e) {
  console.log(
    JSON.stringify({ bench: 'skipped', name: '@huggingface/tokenizers', reason: String(e) }),
  );
}

const ours = results.find((r) => r.name.startsWith('@remax') && r.mode === 'per_text')!;
const peers = results.filter((r) => !r.name.startsWith('@remax'));
if (peers.length > 0) {
  const fastest = peers.reduce((a, b) => (a.mbPerS > b.mbPerS ? a : b));
  console.log(
    JSON.stringify({
      bench: 'ratio',
      ours: ours.name,
      fastestPeer: fastest.name,
      speedup: +(ours.mbPerS / fastest.mbPerS).toFixed(2),
      firstPassSpeedup: +(ours.firstPassMbPerS / fastest.firstPassMbPerS).toFixed(2),
    }),
  );
}
