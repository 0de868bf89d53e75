/**
 * The simulator's sessions hold each request to the decoder's limits
 * (10,000 parameter lines, 1 MiB): a request at a limit is answered; one
 * beyond, or a flood of 16 million lines from an unauthenticated client,
 * closes that connection alone, soon, and the reason is logged.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { within } from '../helpers/deadline.ts';
import { flood, paramLines, telegramOfSize } from '../helpers/oversize.ts';
import {
  expectOk,
  failOnUnhandledRejections,
  type WireClient,
  WireClients,
} from './wire-client.ts';

const FRANK = { name: 'frank', pass: 'frank-secret' };
const MiB = 1024 * 1024;
const LINES = 16 * 1024 * 1024;

failOnUnhandledRejections();

let sim: Simulator;
const log: string[] = [];
const clients = new WireClients();

before(async () => {
  sim = await startSimulator({ accounts: [FRANK], log: (line) => log.push(line) });
});
after(async () => {
  clients.destroyAll();
  await sim.close();
});

/** The log lines of sessions closed for undecodable data. */
function closings(): string[] {
  return log.filter((line) => line.includes('closing: undecodable data from the client'));
}

/** Waits for the simulator to close `c`; the closing must be logged with a reason matching `why`. */
async function closedFor(c: WireClient, why: RegExp, logged: number): Promise<void> {
  await within(c.closed, 10_000, 'the simulator closing the connection');
  const lines = closings();
  assert.equal(lines.length, logged + 1, `one more closing logged: ${lines.join('\n')}`);
  assert.match(lines.at(-1) as string, why);
}

/** Checks that another connection, logged in before, and a new one are still served. */
async function othersServed(honest: WireClient): Promise<void> {
  const name = await within(expectOk(honest, 'WhoAmI'), 5000, 'the reply to the honest client');
  assert.equal(name.Name, 'frank');
  const fresh = await clients.open(sim.sender.msgif);
  await within(expectOk(fresh, 'WhoAmI'), 5000, 'the reply to a new client');
}

describe('request limits of a session', () => {
  it('a request of exactly 10,000 parameter lines, or of exactly 1 MiB, is answered', async () => {
    const c = await clients.open(sim.sender.msgif);
    c.socket.write(`WhoAmI\n${paramLines(10_000)}\n`);
    assert.equal((await within(c.next(), 5000, 'the reply to 10,000 lines'))?.topic, 'Ok');
    c.socket.write(telegramOfSize('WhoAmI', MiB));
    assert.equal((await within(c.next(), 5000, 'the reply to 1 MiB'))?.topic, 'Ok');
  });

  for (const [what, bytes, why] of [
    [
      '10,001 parameter lines',
      Buffer.from(`WhoAmI\n${paramLines(10_001)}\n`),
      /maximum of 10000 parameter lines.*raise maxParams/,
    ],
    [
      '1 MiB and 1 byte',
      telegramOfSize('WhoAmI', MiB + 1),
      /maximum size of 1048576 bytes.*raise maxTelegramBytes/,
    ],
  ] as const) {
    it(`a request of ${what} closes that connection alone`, async () => {
      const honest = await clients.open(sim.sender.msgif, FRANK);
      const c = await clients.open(sim.sender.msgif);
      const logged = closings().length;
      c.socket.write(bytes);
      await closedFor(c, why, logged);
      await othersServed(honest);
    });
  }

  for (const [what, line, why] of [
    ['16 M short lines', (i: number) => `k${i} v\n`, /raise maxParams/],
    [
      'lines of about 1000 bytes',
      (i: number) => `k${i} ${'x'.repeat(990)}\n`,
      /raise maxTelegramBytes/,
    ],
  ] as const) {
    it(`an unauthenticated client flooding ${what} is cut off soon`, async () => {
      const honest = await clients.open(sim.sender.msgif, FRANK);
      const c = await clients.open(sim.sender.msgif);
      const logged = closings().length;
      const written = flood(c.socket, 'WhoAmI\n', LINES, line);
      await closedFor(c, why, logged);
      const lines = await within(written, 10_000, 'the end of the flood');
      assert.ok(lines < LINES / 4, `the client wrote ${lines} of ${LINES} lines before the close`);
      await othersServed(honest);
    });
  }
});
