/**
 * Stream figures against the simulator, beside a raw-socket baseline
 * measured in the same run:
 * - `strm.e2e.200MiB`: `strm.open` -> one-way link -> receiver node ->
 *   subscriber reading the stream as it arrives, vs a raw socket write of
 *   the same bytes to a server that discards them;
 * - `strm.e2e.200MiB.rssGrowth`: how much the RSS of this process (client
 *   and simulator together) grew while the timed stream of a run went
 *   through (the most over the runs).
 * Best of three runs, alternating with three of the baseline, as for the
 * message figures.
 */
import { pipeline } from 'node:stream/promises';
import type { Connection } from '../src/conn/index.ts';
import { recv, subscribe } from '../src/msg/index.ts';
import { open } from '../src/strm/index.ts';
import { transferDeadlineMs } from './deadline.ts';
import { bestOfPaired, figure, type Measurement } from './figures.ts';
import { generated, MiB, mib, mibPerSec, rawSocketThroughput } from './raw.ts';
import { withSim } from './with-sim.ts';

const TOTAL = 200 * MiB;
const RATE = 'strm.e2e.200MiB';
const RSS_GROWTH = `${RATE}.rssGrowth`;

/** How far a stream got, for the failure message. */
interface Progress {
  received: number;
  finished: boolean;
}

/** Streams `total` bytes from `out` to the subscriber `sub`, written and read at once. */
async function streamOnce(out: Connection, sub: Connection, total: number, progress: Progress) {
  progress.received = 0;
  progress.finished = false;
  const receiving = recv(sub, { streams: true }).then(async (item) => {
    if (item.kind === 'stream')
      for await (const c of item.stream) progress.received += (c as Buffer).length;
  });
  const sending = pipeline(generated(total), open(out, { ch: 'bench' })).then(() => {
    progress.finished = true;
  });
  await Promise.all([receiving, sending]);
  if (progress.received !== total) throw new Error(`only ${progress.received} bytes arrived`);
}

/**
 * Streams `total` bytes end to end; returns MiB/s and the RSS growth in
 * MiB. As for `msg.e2e`, one stream of the same size goes through first,
 * untimed: the first one through a new simulator pays for its threads'
 * cold memory (and the first of the process starts the client's hashing
 * thread). The RSS growth is that of the timed stream.
 */
function endToEnd(total: number): Promise<{ rate: number; rssGrowth: number }> {
  const progress: Progress = { received: 0, finished: false };
  let stage = 'the warm-up stream';
  const what = () =>
    `${stage} at the subscriber (${mib(progress.received)} of ${mib(total)} MiB; ` +
    `end ${progress.finished ? 'acknowledged' : 'not acknowledged'})`;
  const run = { deadlineMs: 2 * transferDeadlineMs(total), what, arrival: true };
  return withSim(run, async (sim, { connect, defer }) => {
    const out = await connect(sim.sender.msgif);
    const sub = await connect(sim.receiver.subif);
    await subscribe(sub, 'bench');
    await streamOnce(out, sub, total, progress);
    stage = 'the stream';
    const rssBefore = process.memoryUsage.rss();
    let rssPeak = rssBefore;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
    }, 20);
    defer(() => clearInterval(sampler));
    const start = performance.now();
    await streamOnce(out, sub, total, progress);
    const rate = mibPerSec(total, performance.now() - start);
    return { rate, rssGrowth: (rssPeak - rssBefore) / MiB };
  });
}

/** Runs of the figure and of its baseline, alternating; the best rate and the largest growth count. */
const RUNS = 3;

export const strmMeasurement: Measurement = {
  figures: [RATE, RSS_GROWTH],
  async measure() {
    let rssGrowth = 0;
    const r = await bestOfPaired(
      RUNS,
      async () => {
        const run = await endToEnd(TOTAL);
        rssGrowth = Math.max(rssGrowth, run.rssGrowth);
        return run.rate;
      },
      () => rawSocketThroughput(TOTAL),
    );
    return [
      figure(RATE, 'MiB/s', r.value, {
        value: r.baseline,
        name: 'raw socket throughput',
        target: 0.25,
      }),
      { name: RSS_GROWTH, unit: 'MiB', value: rssGrowth, max: 128 },
    ];
  },
};
