/**
 * Child process of the benchmark: runs one measurement (by its index in
 * measurements.ts) twice and prints the figures of the second run, or why
 * either failed, as one JSON line on stdout. The first run warms the new
 * process up: its first hundreds of MiB are fresh memory, faulted in at
 * about 3 ms per MiB on this VM, which slowed the raw baseline of the
 * first figure of a process by a third. A figure with a limit (`max`, such
 * as a growth of memory) reports the worse of the two runs: the warm-up
 * may not hide what a fresh process costs. Usage: measure-one.js <index>
 */
import type { Figure } from './figures.ts';
import { measurements } from './measurements.ts';

/** The second run's figures, each bounded one at the worse value of both runs. */
function combined(warmUp: Figure[], measured: Figure[]): Figure[] {
  return measured.map((f) => {
    const first = warmUp.find((w) => w.name === f.name);
    if (f.max === undefined || !first || first.value <= f.value) return f;
    return { ...f, value: first.value, note: 'the warm-up run (the worse of two)' };
  });
}

const measurement = measurements[Number(process.argv[2])];
let result: unknown;
if (!measurement) {
  result = { failed: `no measurement ${process.argv[2]}` };
} else {
  let stage = 'warm-up run: ';
  try {
    const warmUp = await measurement.measure();
    stage = '';
    result = { figures: combined(warmUp, await measurement.measure()) };
  } catch (err) {
    result = { failed: `${stage}${err instanceof Error ? err.message : String(err)}` };
  }
}
// Exits once the line is out: nothing the measurement left behind keeps it alive.
process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
