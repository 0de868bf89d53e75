/**
 * Stream figures against the simulator, beside a raw-socket baseline
 * measured in the same run:
 * - `strm.e2e.200MiB`: `strm.open` -> one-way link -> receiver node ->
 *   subscriber reading the stream as it arrives, vs a raw socket write of
 *   the same bytes to a server that discards them;
 * - `strm.e2e.200MiB.rssGrowth`: how much the RSS of this process (client
 *   and simulator together) grew while the stream went through.
 */
import { once } from 'node:events';
import { connect } from '../src/conn/index.ts';
import { recv, subscribe } from '../src/msg/index.ts';
import { startSimulator } from '../src/sim/index.ts';
import { open } from '../src/strm/index.ts';
import { type Figure, figure } from './figures.ts';
import { rawSocketThroughput } from './msg.ts';

const MiB = 1024 * 1024;
const APP = { name: 'bench', pass: 'bench-pass' };

/** Streams `total` bytes end to end; returns MiB/s and the RSS growth in MiB. */
async function endToEnd(total: number): Promise<{ rate: number; rssGrowth: number }> {
  const sim = await startSimulator({ accounts: [{ ...APP, perms: ['*'] }] });
  try {
    const out = await connect(sim.sender.msgif, { auth: APP });
    const sub = await connect(sim.receiver.subif, { auth: APP });
    await subscribe(sub, 'bench');
    const rssBefore = process.memoryUsage.rss();
    let rssPeak = rssBefore;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
    }, 20);
    const start = performance.now();
    const received = recv(sub, { streams: true }).then(async (item) => {
      let n = 0;
      if (item.kind === 'stream') for await (const c of item.stream) n += (c as Buffer).length;
      return n;
    });
    const w = open(out, { ch: 'bench' });
    const chunk = Buffer.alloc(MiB, 0x5a);
    for (let sent = 0; sent < total; sent += chunk.length) {
      if (!w.write(chunk)) await once(w, 'drain');
    }
    w.end();
    await once(w, 'finish');
    if ((await received) !== total) throw new Error('end-to-end stream incomplete');
    const rate = total / MiB / ((performance.now() - start) / 1000);
    clearInterval(sampler);
    await out.close();
    await sub.close();
    return { rate, rssGrowth: (rssPeak - rssBefore) / MiB };
  } finally {
    await sim.close();
  }
}

/** The stream figures. */
export async function strmFigures(): Promise<Figure[]> {
  const { rate, rssGrowth } = await endToEnd(200 * MiB);
  const raw = await rawSocketThroughput(200 * MiB);
  return [
    figure('strm.e2e.200MiB', 'MiB/s', rate, {
      value: raw,
      name: 'raw socket throughput',
      target: 0.3,
    }),
    { name: 'strm.e2e.200MiB.rssGrowth', unit: 'MiB', value: rssGrowth, max: 128 },
  ];
}
