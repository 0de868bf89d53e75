/**
 * A flood of bad logins beside legitimate senders, with the default
 * limits: passphrase checks take turns (scrypt would otherwise fill libuv's
 * thread pool) and failures are answered late, so the senders keep at
 * least half the rate they have without the flood (without the limits,
 * they keep a few per cent). Each flooded window's rate is compared with
 * the quiet windows on either side of it, so that a machine that speeds up
 * (code warming up) or slows down steadily compares like with like. The
 * windows last a second, and the best of three flooded windows counts: a
 * machine busy with other work for a while slows one window, not the
 * senders under every flood.
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
/** Windows, in this order: flooded ones between quiet ones. */
const WINDOWS = [
  ['quiet', 1000],
  ['flood', 1000],
  ['quiet', 1000],
  ['flood', 1000],
  ['quiet', 1000],
  ['flood', 1000],
  ['quiet', 1000],
] as const;

/** Messages sent and milliseconds taken, in one window. */
interface Tally {
  sent: number;
  ms: number;
}

/** Messages per second. */
function rate(...tallies: Tally[]): number {
  const sent = tallies.reduce((sum, t) => sum + t.sent, 0);
  const ms = tallies.reduce((sum, t) => sum + t.ms, 0);
  return (sent * 1000) / ms;
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

/** The senders' messages in each window, and the bad logins answered. */
async function measure(options: SimulatorOptions) {
  const t = await setup(options);
  try {
    const senders = await Promise.all(Array.from({ length: SENDERS }, () => t.sender()));
    await send(senders, 500); // warm up
    const tallies: Tally[] = [];
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
      tallies.push(await send(senders, ms));
      // The flood was really at the node: it answers one of its logins (on a busy machine, maybe just after the window).
      if (kind === 'flood') {
        await until(t.sim, 'a bad login of the flood answered', () => answered > answeredBefore);
      }
      // Reset, their logins waiting for a check or a delay are dropped; the next window starts without them.
      for (const c of flooders) c.socket.resetAndDestroy();
      opened += flooders.length;
      await until(t.sim, 'the flood ending at the node', () => closedSessions(t.log) >= opened);
    }
    return { tallies, answered };
  } finally {
    await t.stop();
  }
}

describe('a flood of bad logins', () => {
  it('leaves legitimate senders at least half their rate', async () => {
    const { tallies, answered } = await measure({});
    // Each flooded window (odd places) against the quiet ones on either side.
    const ratios = tallies.flatMap((flood, i) => {
      const [before, after] = [tallies[i - 1], tallies[i + 1]];
      return i % 2 === 1 && before && after ? [rate(flood) / rate(before, after)] : [];
    });
    const figures = tallies
      .map((t, i) => `${WINDOWS[i]?.[0]} ${rate(t).toFixed(0)} msg/s`)
      .join(', ');
    const best = Math.max(...ratios);
    const summary = `ratios ${ratios.map((r) => r.toFixed(2)).join(', ')}: ${figures} (${answered} bad logins answered)`;
    assert.equal(ratios.length, 3);
    assert.ok(best >= 0.5, summary);
  });
});
