/**
 * The receiver node gives a message's memory back to the link for reuse
 * only once every subscriber's write of it is out: a subscriber that reads
 * late still gets every byte of every message, while later messages fill
 * the buffers the earlier ones left.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { startSimulator } from '../../src/sim/index.ts';
import { within } from '../helpers/deadline.ts';
import { sha } from '../helpers/sha.ts';
import { connectTo, expectOk, readMsg, sendMsg } from './wire-client.ts';

describe('memory given back for reuse', () => {
  it('is given back only once the slowest subscriber has its copy', async () => {
    const sim = await startSimulator({ accounts: [{ name: 'all', pass: 'pw', perms: ['*'] }] });
    const [fast, slow, snd] = await Promise.all([
      connectTo(sim.receiver.subif),
      connectTo(sim.receiver.subif),
      connectTo(sim.sender.msgif),
    ]);
    try {
      for (const c of [fast, slow, snd]) await expectOk(c, 'Auth', { AccName: 'all', Pass: 'pw' });
      for (const c of [fast, slow]) await expectOk(c, 'Sub', { Ch: '1' });
      // 120 messages of 4 frames each: kept in memory, 24 MiB in all.
      const payloads = Array.from({ length: 120 }, () => randomBytes(200 * 1024));
      for (const [i, payload] of payloads.entries()) {
        await sendMsg(snd, { ch: 1, payload });
        // The fast subscriber has each before the next is sent: its copies go out at once.
        const got = await within(readMsg(fast), 10_000, `message ${i + 1} at the fast subscriber`);
        assert.equal(got?.payloadSha, sha(payload), `message ${i + 1} at the fast subscriber`);
      }
      for (const [i, payload] of payloads.entries()) {
        const got = await within(readMsg(slow), 10_000, `message ${i + 1} at the slow subscriber`);
        assert.equal(got?.payloadSha, sha(payload), `message ${i + 1} at the slow subscriber`);
      }
      assert.equal(sim.stats().slowSubscribersDropped, 0);
    } finally {
      for (const c of [fast, slow, snd]) c.socket.destroy();
      await sim.close();
    }
  });
});
