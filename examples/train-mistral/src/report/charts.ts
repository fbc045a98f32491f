import { createRequire } from 'node:module';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** One point of a line chart: `run` names the series (one per run in an ablation). */
export interface ChartPoint {
  step: number;
  /** null where the step has no (finite) value: the line breaks there. */
  value: number | null;
  run: string;
}

export interface LineChart {
  /** File stem, e.g. `reward` -> reward.png. */
  name: string;
  title: string;
  yTitle: string;
  points: ChartPoint[];
}

export const CHART_WIDTH = 560;
export const CHART_HEIGHT = 300;
const FONT_FAMILY = 'Roboto';

/**
 * Roboto Regular from npm (@expo-google-fonts/roboto ships the .ttf): resvg
 * draws text only with fonts it is given, so charts render the same on a fresh
 * machine with no system fonts.
 */
export function chartFontFile(): string {
  const require = createRequire(import.meta.url);
  return require.resolve('@expo-google-fonts/roboto/400Regular/Roboto_400Regular.ttf');
}

/** The vega-lite spec of one chart: a line per run, points when a series is short. */
export function lineChartSpec(chart: LineChart): TopLevelSpec {
  const runs = new Set(chart.points.map((p) => p.run));
  const fewPoints = chart.points.length / Math.max(1, runs.size) <= 30;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: chart.title,
    width: CHART_WIDTH,
    height: CHART_HEIGHT,
    background: 'white',
    config: { font: FONT_FAMILY, view: { stroke: '#ddd' } },
    data: { values: chart.points },
    // a missing value breaks the line (a gap), rather than joining its neighbours
    mark: { type: 'line', point: fewPoints, strokeWidth: 2, invalid: 'break-paths-filter-domains' },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: { field: 'value', type: 'quantitative', title: chart.yTitle, scale: { zero: false } },
      color: runs.size > 1 ? { field: 'run', type: 'nominal', title: 'run' } : { value: '#1f77b4' },
    },
  };
}

/** vega-lite -> vega -> SVG text (headless: no canvas, no browser). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** SVG -> PNG with resvg, at `scale` times the SVG's size, with the shipped font. */
export function svgToPng(svg: string, scale = 2): Buffer {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: {
      fontFiles: [chartFontFile()],
      loadSystemFonts: false,
      defaultFontFamily: FONT_FAMILY,
    },
  });
  return resvg.render().asPng();
}

/** Width and height stored in a PNG's IHDR chunk. */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}
