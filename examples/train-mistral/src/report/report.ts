import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StepRecord } from '../run/metrics.js';
import { type ChartPoint, type LineChart, lineChartSpec, renderSvg, svgToPng } from './charts.js';

/** The run-level charts, each a headline field of StepRecord. */
export const CHARTS: ReadonlyArray<{
  name: string;
  title: string;
  yTitle: string;
  value: (r: StepRecord) => number | null;
}> = [
  {
    name: 'reward',
    title: 'Reward of the sampled response',
    yTitle: 'reward',
    value: (r) => r.reward,
  },
  {
    name: 'greedy-reward',
    title: 'Reward of the greedy response',
    yTitle: 'greedy reward',
    value: (r) => r.greedy_reward,
  },
  {
    name: 'kl',
    title: 'KL(policy || reference), summed over the response',
    yTitle: 'KL (nats per response)',
    value: (r) => r.kl,
  },
  {
    name: 'response-length',
    title: 'Response length',
    yTitle: 'tokens',
    value: (r) => r.response_length,
  },
  { name: 'tokens-per-s', title: 'Throughput', yTitle: 'tokens / s', value: (r) => r.tokens_per_s },
];

/** A labelled series of step records (one run, or one run of an ablation). */
export interface RunSeries {
  label: string;
  records: readonly StepRecord[];
}

/**
 * Builds the charts for one or more runs (overlaid when several). A step whose
 * value is missing (null, or not finite) stays in the series as a null point,
 * drawn as a gap; a chart with no finite value at all is left out.
 */
export function chartsFor(series: readonly RunSeries[], smoothing = 5): LineChart[] {
  return CHARTS.map((c) => {
    const points = series.flatMap((s) =>
      s.records.map((r) => {
        const v = c.value(r);
        return { step: r.step, value: v !== null && Number.isFinite(v) ? v : null, run: s.label };
      }),
    );
    const finite = points.filter((p): p is ChartPoint & { value: number } => p.value !== null);
    // one run: add the trailing mean of the last `smoothing` finite steps, so a
    // trend shows through batch noise (the raw points stay on the chart)
    const smoothed =
      series.length === 1 && smoothing > 1 && finite.length > smoothing
        ? finite.map((p, i) => {
            const window = finite.slice(Math.max(0, i - smoothing + 1), i + 1);
            return {
              step: p.step,
              value: window.reduce((a, q) => a + q.value, 0) / window.length,
              run: `${p.run}, ${smoothing}-step mean`,
            };
          })
        : [];
    return {
      name: c.name,
      title: c.title,
      yTitle: c.yTitle,
      points: [...points, ...smoothed],
      finite: finite.length,
    };
  })
    .filter((c) => c.finite > 0)
    .map(({ finite: _finite, ...chart }) => chart);
}

/** Renders each chart to `<dir>/<name>.png` (and .svg); returns the PNG file names. */
export async function writeCharts(dir: string, charts: readonly LineChart[]): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (const chart of charts) {
    const svg = await renderSvg(lineChartSpec(chart));
    writeFileSync(join(dir, `${chart.name}.svg`), svg);
    writeFileSync(join(dir, `${chart.name}.png`), svgToPng(svg));
    files.push(`${chart.name}.png`);
  }
  return files;
}

export interface Sample {
  step: number;
  prompt: string;
  response: string;
  /** null when the reward was not finite. */
  reward: number | null;
  greedy_response?: string;
  greedy_reward?: number | null;
}

export interface ReportInput {
  title: string;
  series: RunSeries[];
  /** Key facts shown as a table (config, totals). */
  summary: Record<string, string | number>;
  samples: readonly Sample[];
}

const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A number for a table cell; empty when missing or not finite. */
const fixed = (v: number | null | undefined) =>
  typeof v === 'number' && Number.isFinite(v) ? v.toFixed(3) : '';

/** Writes `report.html` and the PNG charts it shows into `dir`. */
export async function writeReport(dir: string, input: ReportInput): Promise<string> {
  const charts = chartsFor(input.series);
  const pngs = await writeCharts(join(dir, 'charts'), charts);
  const summaryRows = Object.entries(input.summary)
    .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(String(v))}</td></tr>`)
    .join('\n');
  const sampleRows = input.samples
    .map(
      (s) =>
        `<tr><td>${s.step}</td><td>${escapeHtml(s.prompt)}</td><td>${escapeHtml(s.response)}</td><td>${fixed(s.reward)}</td>` +
        `<td>${escapeHtml(s.greedy_response ?? '')}</td><td>${fixed(s.greedy_reward)}</td></tr>`,
    )
    .join('\n');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(input.title)}</title>
<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
img{max-width:100%;border:1px solid #eee;margin:0.5em 0}</style></head>
<body><h1>${escapeHtml(input.title)}</h1>
<table>${summaryRows}</table>
${pngs.map((f) => `<img src="charts/${f}" alt="${f}">`).join('\n')}
<h2>Sample generations</h2>
<table><tr><th>step</th><th>prompt</th><th>sampled response</th><th>reward</th><th>greedy response</th><th>greedy reward</th></tr>
${sampleRows}</table>
</body></html>
`;
  const file = join(dir, 'report.html');
  writeFileSync(file, html);
  return file;
}
