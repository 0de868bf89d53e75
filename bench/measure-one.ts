/**
 * Child process of the benchmark: runs one measurement (by its index in
 * measurements.ts) twice and prints the figures of the second run, or why
 * either failed, as one JSON line on stdout. The first run warms the new
 * process up: its first hundreds of MiB are fresh memory, faulted in at
 * about 3 ms per MiB on this VM, which slowed the raw baseline of the
 * first figure of a process by a third. Usage: measure-one.js <index>
 */
import { measurements } from './measurements.ts';

const measurement = measurements[Number(process.argv[2])];
let result: unknown;
if (!measurement) {
  result = { failed: `no measurement ${process.argv[2]}` };
} else {
  try {
    await measurement.measure();
    result = { figures: await measurement.measure() };
  } catch (err) {
    result = { failed: err instanceof Error ? err.message : String(err) };
  }
}
// Exits once the line is out: nothing the measurement left behind keeps it alive.
process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
