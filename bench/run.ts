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
 *
 * Each measurement runs in a process of its own (measure-one.ts), one after
 * the other, once to warm the process up and once measured. In one shared
 * process the figures depended on their order: V8 tunes its heap to what
 * ran before, and after the message figures the stream figure ran with
 * 86-99 full garbage collections instead of 5-13, at ratios of 0.23-0.33
 * instead of 0.30-0.37.
 */
import { measureInChild } from './child-process.ts';
import { type FailedFigure, type Figure, report } from './figures.ts';
import { measurements } from './measurements.ts';

const json = process.argv.includes('--json');
const figures: (Figure | FailedFigure)[] = [];
for (const [index, m] of measurements.entries()) {
  figures.push(...(await measureInChild(index, m)));
  if (!json) process.stderr.write('.');
}
if (!json) process.stderr.write('\n');
report(figures, json);
if (figures.some((f) => 'failed' in f)) process.exitCode = 1;
