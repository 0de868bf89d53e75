/**
 * Message figures against the simulator:
 * - `msg.send.256MiB`: `send` of a 256 MiB payload to the sender node, vs a
 *   raw socket write of the same bytes to a server that discards them;
 * - `msg.e2e.64MiB`: send -> one-way link -> receiver node -> subscriber
 *   (the payload read as a stream), vs the same raw socket throughput;
 * Throughputs are the best of three runs (each against a fresh simulator),
 * alternating with three of their baseline: one long transfer is easily
 * slowed by the machine's other work (on a small VM, page cache writeback
 * for one).
 */
import { recv, send, subscribe } from '../src/msg/index.ts';
import { transferDeadlineMs } from './deadline.ts';
import { bestOfPaired, figure, type Measurement } from './figures.ts';
import { generated, MiB, mib, mibPerSec, rawSocketThroughput } from './raw.ts';
import { withSim } from './with-sim.ts';

/** Runs per throughput figure and per baseline (the best counts; see `bestOfPaired`). */
const RUNS = 3;

/** `send` of `total` bytes to the sender node (which spools them; nobody receives them); MiB/s. */
function sendRate(total: number): Promise<number> {
  const what = () => `the sender node's acknowledgement of ${mib(total)} MiB`;
  return withSim({ deadlineMs: transferDeadlineMs(total), what }, async (sim, { connect }) => {
    const out = await connect(sim.sender.msgif);
    const start = performance.now();
    await send(out, { ch: 'unsubscribed', payload: { stream: generated(total), length: total } });
    return mibPerSec(total, performance.now() - start);
  });
}

/** send -> link -> receiver node -> subscriber, the payload read as a stream; MiB/s. */
function endToEndRate(total: number): Promise<number> {
  let received = 0;
  let acked = false;
  const what = () =>
    `the payload at the subscriber (${mib(received)} of ${mib(total)} MiB; ` +
    `send ${acked ? 'acknowledged' : 'not acknowledged'})`;
  const run = { deadlineMs: transferDeadlineMs(total), what, arrival: true };
  return withSim(run, async (sim, { connect }) => {
    const out = await connect(sim.sender.msgif);
    const sub = await connect(sim.receiver.subif);
    await subscribe(sub, 'bench');
    const start = performance.now();
    const receiving = recv(sub, { storeq: () => 'stream' }).then(async (m) => {
      if (m.payload?.kind === 'stream')
        for await (const c of m.payload.stream) received += (c as Buffer).length;
    });
    const payload = { stream: generated(total), length: total };
    const sending = send(out, { ch: 'bench', payload }).then(() => {
      acked = true;
    });
    await Promise.all([receiving, sending]);
    if (received !== total) throw new Error(`${what()} did not arrive whole`);
    return mibPerSec(total, performance.now() - start);
  });
}

export const msgMeasurements: Measurement[] = [
  {
    figures: ['msg.send.256MiB'],
    async measure() {
      const total = 256 * MiB;
      const r = await bestOfPaired(
        RUNS,
        () => sendRate(total),
        () => rawSocketThroughput(total),
      );
      return [
        figure('msg.send.256MiB', 'MiB/s', r.value, {
          value: r.baseline,
          name: 'raw socket write',
          target: 0.8,
        }),
      ];
    },
  },
  {
    figures: ['msg.e2e.64MiB'],
    async measure() {
      const total = 64 * MiB;
      const r = await bestOfPaired(
        RUNS,
        () => endToEndRate(total),
        () => rawSocketThroughput(total),
      );
      return [
        figure('msg.e2e.64MiB', 'MiB/s', r.value, {
          value: r.baseline,
          name: 'raw socket throughput',
          target: 0.25,
        }),
      ];
    },
  },
];
