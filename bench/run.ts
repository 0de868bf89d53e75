/**
 * `npm run bench`: measures every figure beside a raw baseline from the same
 * run and prints a table (or JSON with `--json`).
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
