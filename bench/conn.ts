/**
 * `conn.whoami.roundtrips`: WhoAmI round trips per second on one connection
 * to the simulator, beside a raw-socket ping-pong of the same bytes (the
 * same request, a fixed reply of the same size) measured in the same run,
 * in alternating rounds.
 */
import { createServer, connect as netConnect, type Socket } from 'node:net';
import { connect, whoami } from '../src/conn/index.ts';
import { startSimulator } from '../src/sim/index.ts';
import { bestOfPaired, bestRate, type Figure, figure } from './figures.ts';

const BATCH = 2000;
/** Half-second rounds of each, alternating (see `bestOfPaired`). */
const ROUNDS = 4;
const REQUEST = Buffer.from('WhoAmI\n\n');

/** Raw baseline: a server that answers each request with `replyLength` fixed bytes, and a client for it. */
async function rawPingPong(
  replyLength: number,
): Promise<{ batch: () => Promise<number>; close: () => void }> {
  const reply = Buffer.alloc(replyLength, 'x');
  const server = createServer((s) => {
    let pending = 0;
    s.on('data', (d) => {
      pending += d.length;
      while (pending >= REQUEST.length) {
        pending -= REQUEST.length;
        s.write(reply);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const sock: Socket = netConnect(port, '127.0.0.1');
  sock.setNoDelay(true);
  await new Promise((resolve) => sock.once('connect', resolve));
  let received = 0;
  let wake: (() => void) | undefined;
  sock.on('data', (d) => {
    received += d.length;
    if (received >= replyLength) {
      received -= replyLength;
      wake?.();
    }
  });
  const batch = async () => {
    for (let i = 0; i < BATCH; i++) {
      const got = new Promise<void>((resolve) => {
        wake = resolve;
      });
      sock.write(REQUEST);
      await got;
    }
    return BATCH;
  };
  const close = () => {
    sock.destroy();
    server.close();
  };
  return { batch, close };
}

export async function connFigures(): Promise<Figure[]> {
  const sim = await startSimulator({ accounts: [{ name: 'bench', pass: 'bench-pass' }] });
  const conn = await connect(sim.sender.mgmtif, { auth: { name: 'bench', pass: 'bench-pass' } });
  const raw = await rawPingPong(`Ok\nId 1\nName bench\n\n`.length);
  const { value, baseline } = await bestOfPaired(
    ROUNDS,
    () =>
      bestRate(
        async () => {
          for (let i = 0; i < BATCH; i++) await whoami(conn);
          return BATCH;
        },
        { rounds: 1 },
      ),
    () => bestRate(raw.batch, { rounds: 1 }),
  );
  raw.close();
  await conn.close();
  await sim.close();
  return [
    figure('conn.whoami.roundtrips', 'round trips/s', value, {
      value: baseline,
      name: 'raw socket ping-pong',
      target: 0.8,
    }),
  ];
}
