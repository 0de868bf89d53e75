/**
 * `npm run bench`: measures every figure beside a raw baseline from the same
 * run and prints a table (or JSON with `--json`). A figure whose measurement
 * fails (a transfer lost, a deadline missed) is reported as FAILED with the
 * reason, the others still run, and the exit code is then 1.
 *
 * It runs compiled: `npm run bench` compiles `src/` and `bench/` with tsc
 * (into `.bench/`) and runs them on plain Node, so the figures are those of
 * the code an application runs (`dist/` is the same tsc output). Under a
 * TypeScript loader they would not be: tsx, for one, wraps every function
 * it creates in a `defineProperty` call (esbuild's `keepNames`).
 */
import { type FailedFigure, type Figure, report } from './figures.ts';
import { measurements } from './measurements.ts';

const json = process.argv.includes('--json');
const figures: (Figure | FailedFigure)[] = [];
for (const m of measurements) {
  try {
    figures.push(...(await m.measure()));
  } catch (err) {
    const failed = err instanceof Error ? err.message : String(err);
    figures.push(...m.figures.map((name) => ({ name, failed })));
  }
  if (!json) process.stderr.write('.');
}
if (!json) process.stderr.write('\n');
report(figures, json);
if (figures.some((f) => 'failed' in f)) process.exitCode = 1;
