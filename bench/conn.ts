/**
 * `conn.whoami.roundtrips`: WhoAmI round trips per second on one connection
 * to the simulator, beside a raw-socket ping-pong of the same bytes (the
 * same request, a fixed reply of the same size) measured in the same run,
 * in alternating rounds.
 */
import { createServer, connect as netConnect, type Socket } from 'node:net';
import { whoami } from '../src/conn/index.ts';
import { ROUNDS_DEADLINE_MS } from './deadline.ts';
import { bestOfPaired, bestRate, figure, type Measurement } from './figures.ts';
import { APP, withSim } from './with-sim.ts';

const BATCH = 500;
/**
 * Rounds of each, alternating (see `bestOfPaired`): many short ones, so
 * that both see the machine's fast moments (its speed drifts over seconds
 * on a shared VM, and four half-second rounds gave ratios from 0.83 to
 * 0.92 for the same code).
 */
const ROUNDS = 16;
const ROUND_SECONDS = 0.125;
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

export const connMeasurement: Measurement = {
  figures: ['conn.whoami.roundtrips'],
  measure() {
    let rounds = 0;
    const what = () => `the whoami replies (${rounds} of ${2 * ROUNDS} rounds done)`;
    return withSim({ deadlineMs: ROUNDS_DEADLINE_MS, what }, async (sim, { connect, defer }) => {
      const conn = await connect(sim.sender.mgmtif);
      const raw = await rawPingPong(`Ok\nId 1\nName ${APP.name}\n\n`.length);
      defer(raw.close);
      const round = async (batch: () => Promise<number>) => {
        const rate = await bestRate(batch, { rounds: 1, seconds: ROUND_SECONDS });
        rounds++;
        return rate;
      };
      const { value, baseline } = await bestOfPaired(
        ROUNDS,
        () =>
          round(async () => {
            for (let i = 0; i < BATCH; i++) await whoami(conn);
            return BATCH;
          }),
        () => round(raw.batch),
      );
      return [
        figure('conn.whoami.roundtrips', 'round trips/s', value, {
          value: baseline,
          name: 'raw socket ping-pong',
          target: 0.9,
        }),
      ];
    });
  },
};
