// Scores a policy rollout with UltraRM: policy ids (mistral-v1 chat + response)
// -> conversations -> "Human: ...\nAssistant: ..." -> Llama ids -> rewards.
// Run from packages/reward-ultrarm: pnpm example
import { fileURLToPath } from 'node:url';
import { initBackend } from '@remax/core';
import { Tokenizer } from '@remax/tokenizer';
import { conversationsFromPolicyTokens, loadRewardModel } from '../src/index.js';

const fixture = (path: string) =>
  fileURLToPath(new URL(`../../../fixtures/${path}`, import.meta.url));

await initBackend();
const rewardModel = await loadRewardModel(fixture('models/tiny-ultrarm'));
const policyTokenizer = await Tokenizer.fromFile(fixture('models/tiny-mistral/tokenizer.model'));

// What a rollout hands over: left-padded mistral-v1 prompts, then responses ending in EOS.
const prompts = [
  policyTokenizer.encodeChat(
    [{ role: 'user', content: 'What is your favourite condiment?' }],
    'mistral-v1',
  ),
  policyTokenizer.encodeChat([{ role: 'user', content: '你好' }], 'mistral-v1'),
];
const responses = [
  [...policyTokenizer.encode('I love lemon juice.'), policyTokenizer.eosId],
  [...policyTokenizer.encode('我也不知道。'), policyTokenizer.eosId],
];
const P = Math.max(...prompts.map((p) => p.length));
const R = Math.max(...responses.map((r) => r.length));
const sequences = prompts.map((p, b) => {
  const r = responses[b] ?? [];
  return [...Array(P - p.length).fill(0), ...p, ...r, ...Array(R - r.length).fill(0)];
});
const attentionMask = prompts.map((p, b) => {
  const r = responses[b] ?? [];
  return [
    ...Array(P - p.length).fill(0),
    ...p.map(() => 1),
    ...r.map(() => 1),
    ...Array(R - r.length).fill(0),
  ];
});

const conversations = conversationsFromPolicyTokens(
  { sequences, attentionMask, promptLength: P },
  policyTokenizer,
);
const { rewards, texts, truncated } = await rewardModel.scoreConversations(conversations);
texts.forEach((text, i) => {
  console.log(JSON.stringify({ text, reward: rewards[i] }));
});
console.log(JSON.stringify({ truncated }));
rewardModel.dispose();
