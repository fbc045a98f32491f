import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadRunConfig } from '../src/config/load.js';
import { readMetrics } from '../src/run/metrics.js';
import { train } from '../src/run/train.js';
import { expectedScalars, readRun } from './tfeventsReader.js';

const tinyYaml = fileURLToPath(new URL('../configs/tiny.yaml', import.meta.url));

describe('a real run with report_to: [tensorboard]', () => {
  it('stop + resume: TensorBoard holds every metrics.jsonl scalar once; the report shows greedy samples', async () => {
    const { config } = loadRunConfig(tinyYaml, {
      set: [
        'train.batch_size=2',
        'train.micro_batch_size=1',
        'data.num_prompts=8',
        'data.eval_prompts=0',
        'data.max_prompt_seq=32',
        'train.max_steps=3',
        'output.checkpoint_every=0',
        'output.report=true',
        'output.report_to=[tensorboard]',
        'output.samples_every=1',
      ],
    });
    const runDir = mkdtempSync(join(tmpdir(), 'remax-tb-run-'));
    const common = { config, runDir, progress: false };
    expect((await train({ ...common, stopAfter: 2 })).stopped).toBe('stop-after');
    expect((await train({ ...common, resume: true })).stopped).toBe('done');

    const metrics = readMetrics(runDir);
    expect(metrics.map((r) => r.step)).toEqual([1, 2, 3]);
    const events = readRun(runDir);
    expect(events.filter((e) => e.fileVersion === 'brain.Event:2')).toHaveLength(2);
    const steps = events.filter((e) => e.fileVersion === '');
    expect(steps.map((e) => e.step)).toEqual([1, 2, 3]);
    steps.forEach((e, i) => {
      expect(e.scalars).toEqual(expectedScalars(metrics[i]!));
    });
    expect(steps[0]!.scalars.get('reward')).toBe(Math.fround(metrics[0]!.reward!));
    expect(steps[0]!.scalars.has('time/rollout_s')).toBe(true);

    // the sample table pairs each sampled response with the greedy one
    const html = readFileSync(join(runDir, 'report.html'), 'utf8');
    const table = html.slice(html.indexOf('<h2>Sample generations</h2>'));
    const rows = [...table.matchAll(/<tr><td>(\d+)<\/td>(.*?)<\/tr>/gs)];
    expect(rows.length).toBeGreaterThan(0);
    for (const [, , cells] of rows) {
      const tds = [...cells!.matchAll(/<td>(.*?)<\/td>/gs)].map((m) => m[1]!);
      expect(tds).toHaveLength(5); // prompt, response, reward, greedy response, greedy reward
      expect(tds[3]!.length).toBeGreaterThan(0);
      expect(Number.isFinite(Number(tds[4]))).toBe(true);
    }
  }, 900_000);
});
