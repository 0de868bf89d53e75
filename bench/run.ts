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
import { appsFilesMeasurement } from './apps-files.ts';
import { appsUdpMeasurement } from './apps-udp.ts';
import { codecMeasurement } from './codec.ts';
import { connMeasurement } from './conn.ts';
import { type FailedFigure, type Figure, type Measurement, report } from './figures.ts';
import { msgMeasurements } from './msg.ts';
import { msgRecvMeasurements } from './msg-recv.ts';
import { recvFileMeasurement } from './recv-file.ts';
import { strmMeasurement } from './strm.ts';

/**
 * The measurements, in the order they run, all in this process. The order
 * matters, because V8 tunes its heap to what ran before:
 * - the stream figure runs before the message figures: after them it ran
 *   with 86-99 full garbage collections instead of 5-13, at ratios of
 *   0.23-0.33 instead of 0.30-0.37;
 * - the end-to-end figures run before the receive figures: after those
 *   (their 256 MiB buffers) the stream figure ran with 74 full collections
 *   instead of 3-6, and a fifth slower.
 * Running each measurement in a process of its own was tried: the order
 * no longer mattered, but a fresh process ran the library's send at 0.54
 * to 1.36 of its raw baseline (0.94-1.01 here), its memory and heap
 * settling differently from one process to the next.
 */
const measurements: Measurement[] = [
  codecMeasurement,
  connMeasurement,
  strmMeasurement,
  ...msgMeasurements,
  ...msgRecvMeasurements,
  recvFileMeasurement,
  appsFilesMeasurement,
  appsUdpMeasurement,
];

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
