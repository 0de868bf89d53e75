/**
 * `npm run bench`: measures every figure beside a raw baseline from the same
 * run and prints a table (or JSON with `--json`).
 *
 * It runs compiled: `npm run bench` compiles `src/` and `bench/` with tsc
 * (into `.bench/`) and runs them on plain Node, so the figures are those of
 * the code an application runs (`dist/` is the same tsc output). Under a
 * TypeScript loader they would not be: tsx, for one, wraps every function
 * it creates in a `defineProperty` call (esbuild's `keepNames`).
 */
import { codecFigures } from './codec.ts';
import { connFigures } from './conn.ts';
import { type Figure, report } from './figures.ts';
import { msgFigures } from './msg.ts';
import { strmFigures } from './strm.ts';

const json = process.argv.includes('--json');
const figures: Figure[] = [];
for (const suite of [codecFigures, connFigures, msgFigures, strmFigures]) {
  figures.push(...(await suite()));
  if (!json) process.stderr.write('.');
}
if (!json) process.stderr.write('\n');
report(figures, json);
