/**
 * Every measurement of the benchmark, in the order of the report. Each one
 * runs in a process of its own (see run.ts), so none is measured in a heap
 * that another has shaped.
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
  ...msgMeasurements,
  strmMeasurement,
  ...msgRecvMeasurements,
  recvFileMeasurement,
];
