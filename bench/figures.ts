/** Benchmark figures, timing helpers and the report printer. */
import { cpus } from 'node:os';

/** One measured figure; `ratio = value / baseline` when there is a baseline (higher is better). */
export interface Figure {
  name: string;
  unit: string;
  value: number;
  baseline?: number;
  baselineName?: string;
  ratio?: number;
  /** The ratio this figure aims for (at least). */
  target?: number;
  /** For figures without a baseline: the value this figure must stay under. */
  max?: number;
  /** Printed beside the figure. */
  note?: string;
}

/** A figure that could not be measured: `failed` says why (what did not arrive). */
export interface FailedFigure {
  name: string;
  failed: string;
}

/** One measurement: the figures it gives, named up front so that a failure is reported under each. */
export interface Measurement {
  figures: string[];
  measure: () => Promise<Figure[]>;
}

/** Builds a figure with its ratio. */
export function figure(
  name: string,
  unit: string,
  value: number,
  baseline?: { value: number; name: string; target?: number },
): Figure {
  if (!baseline) return { name, unit, value };
  return {
    name,
    unit,
    value,
    baseline: baseline.value,
    baselineName: baseline.name,
    ratio: value / baseline.value,
    ...(baseline.target === undefined ? {} : { target: baseline.target }),
  };
}

/** Measures `runs` times and returns the best (rates: higher is better). */
export async function bestOf(runs: number, measure: () => Promise<number>): Promise<number> {
  let best = 0;
  for (let i = 0; i < runs; i++) best = Math.max(best, await measure());
  return best;
}

/**
 * Measures a figure and its baseline `runs` times each, alternately, and
 * returns the best of each (rates: higher is better). Alternating puts both
 * under the same conditions when the machine's other load drifts; the best
 * run is the one least slowed by it.
 */
export async function bestOfPaired(
  runs: number,
  measure: () => Promise<number>,
  baseline: () => Promise<number>,
): Promise<{ value: number; baseline: number }> {
  let value = 0;
  let base = 0;
  for (let i = 0; i < runs; i++) {
    value = Math.max(value, await measure());
    base = Math.max(base, await baseline());
  }
  return { value, baseline: base };
}

/**
 * Runs `fn` (which does `units` units of work per call) repeatedly for about
 * `seconds`, `rounds` times, and returns the best rate in units per second.
 */
export async function bestRate(
  fn: () => Promise<number> | number,
  { seconds = 0.5, rounds = 3 } = {},
): Promise<number> {
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    let units = 0;
    const start = process.hrtime.bigint();
    let elapsed = 0;
    do {
      units += await fn();
      elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    } while (elapsed < seconds);
    best = Math.max(best, units / elapsed);
  }
  return best;
}

function goal(f: Figure): string {
  if (f.max !== undefined) return `< ${f.max}${f.value < f.max ? '' : '  (over the limit)'}`;
  if (f.target === undefined) return '';
  return `>= ${f.target}${(f.ratio ?? 0) >= f.target ? '' : '  (below target)'}`;
}

function fmt(n: number | undefined): string {
  if (n === undefined) return '';
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(n >= 100 ? 0 : 2);
}

function row(f: Figure | FailedFigure): string[] {
  if ('failed' in f) return [f.name, 'FAILED', '', '', '', 'see below'];
  return [
    f.name,
    `${fmt(f.value)} ${f.unit}`,
    f.baseline === undefined ? '' : `${fmt(f.baseline)} ${f.unit} (${f.baselineName})`,
    f.ratio === undefined ? '' : f.ratio.toFixed(2),
    goal(f),
    f.note ?? '',
  ];
}

/** Prints figures as a table followed by the reason of each failure, or as one JSON document. */
export function report(figures: (Figure | FailedFigure)[], json: boolean): void {
  if (json) {
    const machine = { node: process.version, cpus: cpus().length };
    process.stdout.write(`${JSON.stringify({ machine, figures }, null, 2)}\n`);
    return;
  }
  const rows = figures.map(row);
  const head = ['figure', 'value', 'baseline (same run)', 'ratio', 'target', 'note'];
  const widths = head.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => (r[i] as string).length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
  const failed = figures.filter((f): f is FailedFigure => 'failed' in f);
  if (failed.length > 0) console.log('');
  for (const f of failed) console.log(`FAILED ${f.name}: ${f.failed}`);
}
