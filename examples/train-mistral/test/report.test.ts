import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHART_HEIGHT, CHART_WIDTH, chartFontFile, pngSize } from '../src/report/charts.js';
import { chartsFor, writeReport } from '../src/report/report.js';
import { readSampleLines, reportSamples, SAMPLES_FILE } from '../src/report/samples.js';
import {
  ablationRow,
  ablationSummary,
  ablationTable,
  meanOverSeeds,
  meanSd,
} from '../src/run/ablate.js';
import type { StepRecord } from '../src/run/metrics.js';
import { appendMetrics, readMetrics } from '../src/run/metrics.js';

function record(step: number, reward: number): StepRecord {
  return {
    step,
    epoch: 0,
    prompts_seen: step * 8,
    reward,
    greedy_reward: reward - 0.1,
    kl: 0.01 * step,
    response_length: 10 + step,
    tokens_per_s: 100,
    seconds: 1.5,
    lr: 1e-3,
    peak_tensor_bytes: 1e6,
    rss_bytes: 2e8,
    algo: { loss: -reward },
  };
}

describe('reports', () => {
  it('appends and reads metrics.jsonl', () => {
    const dir = mkdtempSync(join(tmpdir(), 'remax-metrics-'));
    for (let s = 1; s <= 3; s++) appendMetrics(dir, record(s, s / 10));
    expect(readMetrics(dir).map((r) => r.step)).toEqual([1, 2, 3]);
    expect(readMetrics(dir, { upToStep: 2 })).toHaveLength(2);
  });

  it('skips a chart a run has no data for (PPO has no greedy reward)', () => {
    const ppo = [1, 2].map((s) => ({ ...record(s, 0), greedy_reward: null }));
    const names = chartsFor([{ label: 'ppo', records: ppo }]).map((c) => c.name);
    expect(names).not.toContain('greedy-reward');
    expect(names).toContain('reward');
  });

  it('renders report.html and PNG charts of the right size with the shipped font', async () => {
    expect(existsSync(chartFontFile())).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'remax-report-'));
    const records = Array.from({ length: 12 }, (_, i) => record(i + 1, Math.log(i + 2)));
    const file = await writeReport(dir, {
      title: 'test run',
      series: [
        { label: 'remax', records },
        { label: 'ppo', records: records.map((r) => ({ ...r, reward: (r.reward ?? 0) / 2 })) },
      ],
      summary: { algo: 'remax', steps: 12 },
      samples: [{ step: 1, prompt: 'Say <hi>', response: 'hi & bye', reward: 0.5 }],
    });
    const html = readFileSync(file, 'utf8');
    expect(html).toContain('charts/reward.png');
    expect(html).toContain('Say &lt;hi&gt;');
    for (const name of ['reward', 'greedy-reward', 'kl', 'response-length', 'tokens-per-s']) {
      const png = readFileSync(join(dir, 'charts', `${name}.png`));
      expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
      const { width, height } = pngSize(png);
      // plot area plus axes, title and legend, rendered at 2x
      expect(width).toBeGreaterThan(2 * CHART_WIDTH);
      expect(width).toBeLessThan(2 * (CHART_WIDTH + 300));
      expect(height).toBeGreaterThan(2 * CHART_HEIGHT);
      expect(height).toBeLessThan(2 * (CHART_HEIGHT + 150));
      expect(statSync(join(dir, 'charts', `${name}.png`)).size).toBeGreaterThan(10_000);
      // the axis title is drawn as text the font must render
      expect(readFileSync(join(dir, 'charts', `${name}.svg`), 'utf8')).toContain('step');
    }
  });
});

describe('missing values', () => {
  it('draws a missing (non-finite) value as a gap and renders a null sample reward', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'remax-gaps-'));
    const records = Array.from({ length: 6 }, (_, i) => ({
      ...record(i + 1, i),
      reward: i === 2 ? null : i,
      kl: Number.NaN,
    }));
    const file = await writeReport(dir, {
      title: 'gaps',
      series: [{ label: 'remax', records }],
      summary: {},
      samples: [{ step: 3, prompt: 'p', response: 'r', reward: null }],
    });
    expect(readFileSync(file, 'utf8')).toContain('<td>r</td><td></td>');
    const svg = readFileSync(join(dir, 'charts', 'reward.svg'), 'utf8');
    const line = svg.match(/aria-roledescription="line mark"[^>]*d="([^"]*)"/)?.[1] ?? '';
    // two pieces: steps 1-2 and 4-6, not one line through the missing step
    expect(line.match(/M/g)).toHaveLength(2);
    // a chart with no finite value at all is left out
    expect(existsSync(join(dir, 'charts', 'kl.png'))).toBe(false);
  });
});

describe('ablation table', () => {
  it('summarises the last 5 steps and shows n/a where an algorithm has no value', () => {
    const remax = Array.from({ length: 10 }, (_, i) => record(i + 1, i));
    const ppo = remax.map((r) => ({ ...r, greedy_reward: null, peak_tensor_bytes: 3 * 1024 ** 2 }));
    const rows = [
      ablationRow('remax', 1, remax, '16 x (1 + 1 greedy)'),
      ablationRow('ppo', 1, ppo, '32 x 1'),
    ];
    // rewards 5..9 in the last five steps
    expect(rows[0]?.final_reward).toBe(7);
    expect(rows[0]?.final_greedy_reward).toBeCloseTo(6.9, 12);
    expect(rows[1]?.final_greedy_reward).toBeNull();
    expect(rows[0]?.seconds_per_step).toBe(1.5);
    const table = ablationTable(rows);
    expect(table.split('\n')).toHaveLength(4);
    expect(table).toContain('| ppo | 1 | 32 x 1 | 10 | 7.0000 | n/a |');
    expect(table).toContain('3.00 MiB');
  });

  it('summarises each algorithm over its seeds: mean ± sample sd, n/a where it has no value', () => {
    const run = (offset: number) =>
      Array.from({ length: 10 }, (_, i) => ({ ...record(i + 1, i), reward: i + offset }));
    const rows = [1, 2, 3].flatMap((seed) => [
      ablationRow('remax', seed, run(seed), '16 x (1 + 1 greedy)'),
      ablationRow(
        'ppo',
        seed,
        run(2 * seed).map((r) => ({ ...r, greedy_reward: null })),
        '32 x 1',
      ),
    ]);
    const summary = ablationSummary(rows).split('\n');
    expect(summary).toHaveLength(4);
    // final rewards 8, 9, 10 (mean 9, sd 1) and 9, 11, 13 (mean 11, sd 2)
    expect(summary[2]).toMatch(/^\| remax \| 16 x \(1 \+ 1 greedy\) \| 3 \| 9\.000 ± 1\.000 \|/);
    expect(summary[3]).toMatch(/^\| ppo \| 32 x 1 \| 3 \| 11\.000 ± 2\.000 \| n\/a \|/);
    expect(meanSd([null])).toBeNull();
    const curve = meanOverSeeds([run(1), run(3)]);
    expect(curve.map((r) => r.reward)).toEqual(run(2).map((r) => r.reward));
  });
});

describe('report samples', () => {
  const line = (step: number, call: number, row: number, text: string, reward: number) =>
    JSON.stringify({ step, call, row, prompt: `p${row}`, text, reward });

  it('pairs each sampled response with the greedy one of the same step and prompt (ReMax)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'remax-samples-'));
    writeFileSync(
      join(dir, SAMPLES_FILE),
      `${[
        line(5, 0, 0, 'sampled a', 0.5),
        line(5, 0, 1, 'sampled b', 0.25),
        line(5, 1, 0, 'greedy a', 0.125),
        line(5, 1, 1, 'greedy b', -1),
      ].join('\n')}\n`,
    );
    const lines = readSampleLines(dir);
    expect(reportSamples(lines, { samplesPerPrompt: 1, greedy: true })).toEqual([
      {
        step: 5,
        prompt: 'p0',
        response: 'sampled a',
        reward: 0.5,
        greedy_response: 'greedy a',
        greedy_reward: 0.125,
      },
      {
        step: 5,
        prompt: 'p1',
        response: 'sampled b',
        reward: 0.25,
        greedy_response: 'greedy b',
        greedy_reward: -1,
      },
    ]);
    // PPO has no greedy call: its rows stay without one
    const ppo = { samplesPerPrompt: 1, greedy: false };
    expect(reportSamples(lines.slice(0, 2), ppo)[0]).not.toHaveProperty('greedy_response');
    writeFileSync(join(dir, SAMPLES_FILE), '{"step": 1}\n');
    expect(() => readSampleLines(dir)).toThrow(/samples\.jsonl/);
  });
});
