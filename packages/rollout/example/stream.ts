// Streams a sampled and a greedy continuation of one chat prompt to the
// terminal, token by token, from the tiny Mistral fixture (random weights:
// the text is gibberish, the mechanics are real).
// Run from packages/rollout: pnpm example
import { fileURLToPath } from 'node:url';
import { initBackend } from '@remax/core';
import { loadCausalLM } from '@remax/model-mistral';
import { Tokenizer } from '@remax/tokenizer';
import { generate } from '../src/index.js';

await initBackend();
const dir = fileURLToPath(new URL('../../../fixtures/models/tiny-mistral', import.meta.url));
const model = await loadCausalLM(dir);
const tok = await Tokenizer.fromFile(`${dir}/tokenizer.model`);

const prompt = tok.encodeChat([{ role: 'user', content: 'What is ReMax?' }]);
const live = tok.createStreamDecoder(); // never prints half a character
process.stdout.write('sampled: ');

const result = await generate(
  model,
  { inputIds: [prompt], attentionMask: [prompt.map(() => 1)] },
  {
    maxNewTokens: 24,
    temperature: 0.7,
    topP: 0.9,
    seed: 42,
    pairs: true, // row 0 sampled, row 1 greedy, one shared prefill
    eosTokenId: tok.eosId,
    returnLogprobs: true,
    onToken: ({ tokens, active }) => {
      if (active[0]) process.stdout.write(live.push(tokens[0] as number));
    },
  },
);
process.stdout.write(`${live.flush()}\n`);
console.log(`greedy:  ${tok.decode(result.responses[1] ?? [])}`);
console.log('finish:', result.finishReason, 'lengths:', result.responseLengths);
result.dispose();
model.dispose();
