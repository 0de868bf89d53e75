/**
 * A flood of bad logins beside legitimate senders, with the default
 * limits: passphrase checks take turns (scrypt would otherwise fill libuv's
 * thread pool) and failures are answered late, so the senders keep at
 * least half the rate they have without the flood. Rates are compared as
 * a ratio, over windows without and with the flood laid out symmetrically
 * in time (quiet, flood, quiet, flood, quiet), so that a machine that
 * speeds up (code warming up) or slows down steadily compares like with like.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SimulatorOptions } from '../../src/sim/index.ts';
import { MiB, setup, until } from './limits-helpers.ts';
import { expectFail, failOnUnhandledRejections, sendMsg, type WireClient } from './wire-client.ts';

failOnUnhandledRejections();

/** Connections that send bad logins, each as fast as it gets its replies. */
const FLOODERS = 30;
/** Legitimate senders, each sending one message after the other. */
const SENDERS = 4;
/** Windows, in this order; the quiet ones at the ends are half as long. */
const WINDOWS = [
  ['quiet', 200],
  ['flood', 400],
  ['quiet', 400],
  ['flood', 400],
  ['quiet', 200],
] as const;

/** Messages and milliseconds, of one kind of window. */
interface Tally {
  sent: number;
  ms: number;
}

/** Sends messages from every sender for `ms`; returns how many went through. */
async function send(senders: WireClient[], ms: number): Promise<Tally> {
  const payload = Buffer.alloc(MiB / 4);
  const start = performance.now();
  let sent = 0;
  await Promise.all(
    senders.map(async (sender) => {
      while (performance.now() - start < ms) {
        await sendMsg(sender, { ch: 1, payload });
        sent++;
      }
    }),
  );
  return { sent, ms: performance.now() - start };
}

/** Sessions of the sender's msgif that have ended. */
function closedSessions(log: string[]): number {
  return log.filter((line) => /^sender\/msgif#\d+ closed$/.test(line)).length;
}

/** The senders' messages in the quiet windows and in the flooded ones, and the bad logins answered. */
async function measure(options: SimulatorOptions) {
  const t = await setup(options);
  try {
    const senders = await Promise.all(Array.from({ length: SENDERS }, () => t.sender()));
    await send(senders, 500); // warm up
    const tally = { quiet: { sent: 0, ms: 0 }, flood: { sent: 0, ms: 0 } };
    let answered = 0;
    let opened = 0;
    for (const [kind, ms] of WINDOWS) {
      const flooders =
        kind === 'flood'
          ? await Promise.all(Array.from({ length: FLOODERS }, () => t.open(t.sim.sender.msgif)))
          : [];
      for (const c of flooders) {
        void (async () => {
          for (;;) {
            await expectFail(c, 'Auth', { AccName: 'all', Pass: 'guess' });
            answered++;
          }
        })().catch(() => {}); // ends when the connection is reset below
      }
      const answeredBefore = answered;
      const { sent, ms: took } = await send(senders, ms);
      tally[kind].sent += sent;
      tally[kind].ms += took;
      // The flood was really at the node: it answers one of its logins (on a busy machine, maybe just after the window).
      if (kind === 'flood') {
        await until(t.sim, 'a bad login of the flood answered', () => answered > answeredBefore);
      }
      // Reset, their logins waiting for a check or a delay are dropped; the next window starts without them.
      for (const c of flooders) c.socket.resetAndDestroy();
      opened += flooders.length;
      await until(t.sim, 'the flood ending at the node', () => closedSessions(t.log) >= opened);
    }
    return { ...tally, answered };
  } finally {
    await t.stop();
  }
}

describe('a flood of bad logins', () => {
  it('leaves legitimate senders at least half their rate', async () => {
    const { quiet, flood, answered } = await measure({});
    const quietRate = (quiet.sent * 1000) / quiet.ms;
    const floodRate = (flood.sent * 1000) / flood.ms;
    const ratio = floodRate / quietRate;
    const figures = `${quietRate.toFixed(0)} msg/s without the flood, ${floodRate.toFixed(0)} msg/s with it (${answered} bad logins answered)`;
    assert.ok(ratio >= 0.5, `ratio ${ratio.toFixed(2)}: ${figures}`);
  });
});
