/**
 * `msg.recv.256MiB.bytes` and `msg.recv.256MiB.file`: a subscriber
 * receiving a 256 MiB message from the receiver node, into one buffer and
 * into a file, vs a plain socket reading the same bytes from a local
 * server into one buffer or into a file, measured in the same run. The
 * message is routed to the subscriber before the clock starts, so the
 * figure is the node's delivery and the client's receiving, not the link.
 *
 * Into a file, both sides start with no file at the path: the previous
 * run's 256 MiB file is removed before the clock. Left there, it was
 * removed inside the clock on both sides but at different moments: the
 * baseline truncates it when it opens the path, so its writes reuse the
 * memory just freed, while the library writes a temporary file and only
 * then renames it over the old one (70-110 ms of removing). On this VM,
 * page cache in memory not touched lately costs up to ten times more per
 * write (4 ms instead of 0.4 ms per 2 MiB), so the figure measured where
 * the freed memory went more than the receiving.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recv, send, subscribe } from '../src/msg/index.ts';
import type { Simulator } from '../src/sim/index.ts';
import { transferDeadlineMs } from './deadline.ts';
import { bestOfPaired, figure, type Measurement } from './figures.ts';
import { generated, MiB, mibPerSec, type RawSink, rawSocketRead } from './raw.ts';
import { withSim } from './with-sim.ts';

const TOTAL = 256 * MiB;
const RUNS = 5;

/** Resolves once the receiver node has routed a transfer (to the subscriber's queue). */
async function routed(sim: Simulator): Promise<void> {
  while (sim.stats().transfersDelivered < 1) await new Promise((r) => setTimeout(r, 5));
}

/** Removes the previous run's file, if any (see the file's header). */
async function clear(sink: RawSink): Promise<void> {
  if (sink.kind === 'file') await rm(sink.path, { force: true });
}

/** Sends TOTAL bytes, waits until they are routed, then times the subscriber's `recv`; MiB/s. */
function receiveRate(sink: RawSink): Promise<number> {
  let stage = 'the message at the receiver node';
  const what = () => `${stage} (${TOTAL / MiB} MiB, into ${sink.kind})`;
  const run = { deadlineMs: transferDeadlineMs(2 * TOTAL), what, arrival: true };
  return withSim(run, async (sim, { connect }) => {
    const out = await connect(sim.sender.msgif);
    const sub = await connect(sim.receiver.subif);
    await subscribe(sub, 'bench');
    await send(out, { ch: 'bench', payload: { stream: generated(TOTAL), length: TOTAL } });
    await routed(sim);
    stage = 'the received message';
    await clear(sink);
    const start = performance.now();
    const store = sink.kind === 'bytes' ? ('bytes' as const) : { file: sink.path };
    const m = await recv(sub, { storeq: () => store, maxBuffered: TOTAL });
    const ms = performance.now() - start;
    const size =
      m.payload?.kind === 'bytes'
        ? m.payload.bytes.length
        : m.payload?.kind === 'file'
          ? (await stat(m.payload.path)).size
          : 0;
    if (size !== TOTAL) throw new Error(`${what()}: ${size} of ${TOTAL} bytes`);
    return mibPerSec(TOTAL, ms);
  });
}

function receiving(kind: RawSink['kind']): Measurement {
  const name = `msg.recv.256MiB.${kind}`;
  return {
    figures: [name],
    async measure() {
      const dir = await mkdtemp(join(tmpdir(), 'ddmw-bench-recv-'));
      const sink: RawSink = kind === 'bytes' ? { kind } : { kind, path: join(dir, 'payload') };
      try {
        const r = await bestOfPaired(
          RUNS,
          () => receiveRate(sink),
          async () => {
            await clear(sink);
            return rawSocketRead(TOTAL, sink);
          },
        );
        const baseline = `raw socket read into ${kind === 'bytes' ? 'a buffer' : 'a file'}`;
        return [figure(name, 'MiB/s', r.value, { value: r.baseline, name: baseline, target: 0.8 })];
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

export const msgRecvMeasurements: Measurement[] = [receiving('bytes'), receiving('file')];
