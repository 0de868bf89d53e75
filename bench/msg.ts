/**
 * Message figures:
 * - `msg.send.256MiB`: the library's `send` of a 256 MiB payload to a node
 *   that drops the bytes as they come (bench/sink-node.ts), vs a raw socket
 *   write of the same bytes to a server that drops them: the library's own
 *   cost;
 * - `msg.send.256MiB.sim`: the same `send` to the simulator's sender node,
 *   which carries the message onto the link as it arrives: the link's work
 *   (framing, the ring, the receiving end's spool file) shares the machine's
 *   cores with the client, and bounds the upload;
 * - `msg.e2e.64MiB`: send -> one-way link -> receiver node -> subscriber
 *   (the payload read as a stream), vs the same raw socket throughput,
 *   after one untimed transfer of the same size (see `endToEnd`);
 * - `msg.e2e.udp.64MiB`: the same path over the realistic link (UDP paced
 *   at 1 Gbit/s, the common diode line rate), vs that pace, with the
 *   transfers the simulator counted lost beside it (target 0).
 * Throughputs are the best of three runs (each against a fresh simulator),
 * alternating with three of their baseline: one long transfer is easily
 * slowed by the machine's other work (on a small VM, page cache writeback
 * for one).
 */
import { type Connection, connect } from '../src/conn/index.ts';
import { recv, send, subscribe } from '../src/msg/index.ts';
import type { LinkOptions } from '../src/sim/index.ts';
import { transferDeadlineMs, within } from './deadline.ts';
import { bestOf, bestOfPaired, figure, type Measurement } from './figures.ts';
import { generated, MiB, mib, mibPerSec, rawSocketThroughput } from './raw.ts';
import { startSinkNode } from './sink-node.ts';
import { lossCount, withSim } from './with-sim.ts';

/** Runs per throughput figure and per baseline (the best counts; see `bestOfPaired`). */
const RUNS = 3;
/** Pace of the realistic link: 1 Gbit/s. */
const LINE_RATE = 125_000_000;
const REALISTIC: LinkOptions = { transport: 'udp', rateBytesPerSec: LINE_RATE };

/** `send` of `total` bytes to a node that drops them; MiB/s. */
async function sendToSinkRate(total: number): Promise<number> {
  const node = await startSinkNode();
  const conn = await connect(node.addr);
  try {
    const start = performance.now();
    const payload = { stream: generated(total), length: total };
    const what = () => `the sink node's acknowledgement of ${mib(total)} MiB`;
    await within(transferDeadlineMs(total), what, send(conn, { ch: 'bench', payload }));
    return mibPerSec(total, performance.now() - start);
  } finally {
    await conn.close();
    node.close();
  }
}

/** `send` of `total` bytes to the simulator's sender node (nobody receives them); MiB/s. */
function sendRate(total: number): Promise<number> {
  const what = () => `the sender node's acknowledgement of ${mib(total)} MiB`;
  return withSim({ deadlineMs: transferDeadlineMs(total), what }, async (sim, { connect }) => {
    const out = await connect(sim.sender.msgif);
    const start = performance.now();
    await send(out, { ch: 'unsubscribed', payload: { stream: generated(total), length: total } });
    return mibPerSec(total, performance.now() - start);
  });
}

/** Sends `total` bytes to the subscriber `sub` and reads them there as a stream; resolves once all are in. */
async function transfer(
  out: Connection,
  sub: Connection,
  total: number,
  progress: { received: number; acked: boolean },
): Promise<void> {
  progress.received = 0;
  progress.acked = false;
  const receiving = recv(sub, { storeq: () => 'stream' }).then(async (m) => {
    if (m.payload?.kind === 'stream')
      for await (const c of m.payload.stream) progress.received += (c as Buffer).length;
  });
  const payload = { stream: generated(total), length: total };
  const sending = send(out, { ch: 'bench', payload }).then(() => {
    progress.acked = true;
  });
  await Promise.all([receiving, sending]);
  if (progress.received !== total) throw new Error(`only ${progress.received} bytes arrived`);
}

/**
 * send -> link -> receiver node -> subscriber, the payload read as a
 * stream; MiB/s and the loss counters' sum at the end. One transfer of the
 * same size goes through first, untimed: the first one through a new
 * simulator pays for its threads' cold memory (page faults, at a few
 * hundred MB/s on a small VM), which a simulator that runs for a while no
 * longer does, and which is not what the figure is about.
 */
function endToEnd(total: number, link?: LinkOptions): Promise<{ rate: number; lost: number }> {
  const progress = { received: 0, acked: false };
  let stage = 'the warm-up transfer';
  const what = () =>
    `${stage} at the subscriber (${mib(progress.received)} of ${mib(total)} MiB; ` +
    `send ${progress.acked ? 'acknowledged' : 'not acknowledged'})`;
  const run = { link, deadlineMs: 2 * transferDeadlineMs(total), what, arrival: true };
  return withSim(run, async (sim, { connect }) => {
    const out = await connect(sim.sender.msgif);
    const sub = await connect(sim.receiver.subif);
    await subscribe(sub, 'bench');
    await transfer(out, sub, total, progress);
    stage = 'the payload';
    const start = performance.now();
    await transfer(out, sub, total, progress);
    return { rate: mibPerSec(total, performance.now() - start), lost: lossCount(sim) };
  });
}

/** A throughput figure measured against a raw socket moving the same `total` bytes. */
function againstRawSocket(
  name: string,
  total: number,
  rate: () => Promise<number>,
  baseline: string,
  target?: number,
): Measurement {
  return {
    figures: [name],
    async measure() {
      const r = await bestOfPaired(RUNS, rate, () => rawSocketThroughput(total));
      return [figure(name, 'MiB/s', r.value, { value: r.baseline, name: baseline, target })];
    },
  };
}

export const msgMeasurements: Measurement[] = [
  againstRawSocket(
    'msg.send.256MiB',
    256 * MiB,
    () => sendToSinkRate(256 * MiB),
    'raw socket write',
    0.9,
  ),
  againstRawSocket('msg.send.256MiB.sim', 256 * MiB, () => sendRate(256 * MiB), 'raw socket write'),
  againstRawSocket(
    'msg.e2e.64MiB',
    64 * MiB,
    async () => (await endToEnd(64 * MiB)).rate,
    'raw socket throughput',
    0.25,
  ),
  {
    figures: ['msg.e2e.udp.64MiB'],
    async measure() {
      let lost = 0;
      const rate = await bestOf(RUNS, async () => {
        const run = await endToEnd(64 * MiB, REALISTIC);
        lost += run.lost;
        return run.rate;
      });
      const f = figure('msg.e2e.udp.64MiB', 'MiB/s', rate, {
        value: LINE_RATE / MiB,
        name: 'link pace, 1 Gbit/s',
        target: 0.9,
      });
      return [{ ...f, note: `transfers lost: ${lost} (target 0)` }];
    },
  },
];
