/**
 * Every measurement of the benchmark, in the order they run, one process
 * for all (see run.ts). The order matters, because V8 tunes its heap to
 * what ran before:
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
import { codecMeasurement } from './codec.ts';
import { connMeasurement } from './conn.ts';
import type { Measurement } from './figures.ts';
import { msgMeasurements } from './msg.ts';
import { msgRecvMeasurements } from './msg-recv.ts';
import { recvFileMeasurement } from './recv-file.ts';
import { strmMeasurement } from './strm.ts';

export const measurements: Measurement[] = [
  codecMeasurement,
  connMeasurement,
  strmMeasurement,
  ...msgMeasurements,
  ...msgRecvMeasurements,
  recvFileMeasurement,
];
