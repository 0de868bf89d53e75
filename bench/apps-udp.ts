/**
 * `apps.udp.datagrams`: the highest rate of 200-byte datagrams that UDP
 * pass-through (apps/udp: forwarder -> simulator -> receiver -> UDP) carries
 * for a second with none lost and in order, on a ladder of rates doubling
 * from 5,000 a second, vs the same ladder through a raw UDP relay (one
 * socket taking datagrams, another sending them on) in the same run. The
 * producer and the sink share the process (and its two cores) with both.
 */
import { createSocket, type Socket } from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import { udp } from '../src/apps/index.ts';
import { subscribe } from '../src/msg/index.ts';
import { figure, type Measurement } from './figures.ts';
import { withSim } from './with-sim.ts';

const SIZE = 200;
const FIRST_RATE = 5_000;
const LAST_RATE = 320_000;
/** After the last datagram, how long the sink may stay quiet before the rest counts as lost. */
const QUIET_MS = 1_000;

async function bound(socket: Socket): Promise<number> {
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return socket.address().port;
}

/** A sink counting datagrams and checking their order. */
async function sink() {
  const socket = createSocket({ type: 'udp4', recvBufferSize: 16 * 1024 * 1024 });
  const state = { got: 0, inOrder: true };
  socket.on('message', (d: Buffer) => {
    if (d.readUInt32BE(0) !== state.got) state.inOrder = false;
    state.got++;
  });
  return { socket, port: await bound(socket), state };
}

/** Sends `rate` datagrams in one second to `port`, in 1 ms slices; then waits for the sink to go quiet. */
async function carry(port: number, rate: number, state: { got: number; inOrder: boolean }) {
  const producer = createSocket('udp4');
  const padding = Buffer.alloc(SIZE, 0x75);
  try {
    const start = performance.now();
    for (let i = 0; i < rate; ) {
      const due = Math.min(rate, Math.ceil(((performance.now() - start) / 1000) * rate) + 1);
      for (; i < due; i++) {
        // A buffer of its own: a datagram's bytes are read when it leaves, after this loop.
        const datagram = Buffer.from(padding);
        datagram.writeUInt32BE(i, 0);
        producer.send(datagram, port, '127.0.0.1');
      }
      await sleep(1);
    }
    for (let seen = -1; seen !== state.got && state.got < rate; ) {
      seen = state.got;
      await sleep(QUIET_MS);
    }
    return state.got === rate && state.inOrder;
  } finally {
    producer.close();
  }
}

/** One rung through pass-through: whether `rate` datagrams in a second all arrived, in order. */
function passThrough(rate: number): Promise<boolean> {
  const what = () => `the ladder's ${rate} datagrams/s`;
  return withSim({ deadlineMs: 60_000, what }, async (sim, { connect, defer }) => {
    const out = await connect(sim.sender.msgif);
    const sub = await connect(sim.receiver.subif);
    await subscribe(sub, 'bench');
    const target = await sink();
    defer(() => target.socket.close());
    const ac = new AbortController();
    const receiving = udp.receive(sub, { to: `127.0.0.1:${target.port}`, signal: ac.signal });
    defer(() => receiving.catch(() => {}));
    const fwd = await udp.send(out, { ch: 'bench', listen: '127.0.0.1:0' });
    defer(() => fwd.close().catch(() => {}));
    const ok = await carry(fwd.address.port, rate, target.state);
    ac.abort();
    return ok;
  });
}

/** One rung through a raw relay. */
async function rawRelay(rate: number): Promise<boolean> {
  const target = await sink();
  const inbound = createSocket({ type: 'udp4', recvBufferSize: 16 * 1024 * 1024 });
  const outbound = createSocket('udp4');
  inbound.on('message', (d: Buffer) => outbound.send(d, target.port, '127.0.0.1'));
  try {
    return await carry(await bound(inbound), rate, target.state);
  } finally {
    inbound.close();
    outbound.close();
    target.socket.close();
  }
}

/** The highest rate of the ladder that `rung` carries (0 when even the first loses some). */
async function highest(rung: (rate: number) => Promise<boolean>): Promise<number> {
  let best = 0;
  for (let rate = FIRST_RATE; rate <= LAST_RATE && (await rung(rate)); rate *= 2) best = rate;
  return best;
}

export const appsUdpMeasurement: Measurement = {
  figures: ['apps.udp.datagrams'],
  async measure() {
    const ours = await highest(passThrough);
    const raw = await highest(rawRelay);
    if (ours === 0) throw new Error(`UDP pass-through lost datagrams at ${FIRST_RATE} a second`);
    return [
      figure('apps.udp.datagrams', 'datagrams/s', ours, {
        value: raw,
        name: 'raw UDP relay, same ladder',
      }),
    ];
  },
};
