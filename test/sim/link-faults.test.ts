/**
 * The link's fault models on a running simulator, over both transports:
 * seeded faults are reproducible, redundancy recovers random loss,
 * heartbeats see the link go down and come back, and every loss is
 * reported as an event with what was lost.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import {
  type LinkFaults,
  type LinkOptions,
  type LossEvent,
  type Simulator,
  startSimulator,
} from '../../src/sim/index.ts';
import { waitFor, within } from '../helpers/deadline.ts';
import { sha } from '../helpers/sha.ts';
import { readMsg, sendMsg, WireClients } from './wire-client.ts';

const ALL = { name: 'all', pass: 'pw' };

/** What happened to each transfer, by number from 1: `delivered` or the loss kind. */
type Outcome = string[];

/** A simulator with a subscriber on channel 1 and a sender, and the loss events it emits. */
async function rig(link: LinkOptions) {
  const sim = await startSimulator({ accounts: [{ ...ALL, perms: ['*'] }], link });
  const losses: LossEvent[] = [];
  sim.on('loss', (e) => losses.push(e));
  const clients = new WireClients();
  const sub = await clients.subscriber(sim.receiver.subif, 1, ALL);
  const snd = await clients.open(sim.sender.msgif, ALL);
  const stop = async () => {
    clients.destroyAll();
    await sim.close();
  };
  return { sim, losses, sub, snd, stop };
}

/** Transfers the receiving end has resolved, one way or another. */
function resolved(sim: Simulator): number {
  const s = sim.stats();
  return s.transfersDelivered + s.transfersLost + s.transfersCorrupt + s.transfersAborted;
}

/** Sends `n` messages of `size` bytes one after another; returns what became of each. */
async function run(link: LinkOptions, n: number, size: number): Promise<Outcome> {
  const r = await rig(link);
  try {
    const payloads = Array.from({ length: n }, (_, i) => Buffer.alloc(size, i));
    const ids: string[] = [];
    for (const payload of payloads) ids.push(await sendMsg(r.snd, { ch: 1, payload }));
    await waitFor(`all ${n} transfers resolved`, () => resolved(r.sim) === n, 30_000);
    const outcome: Outcome = ids.map(() => 'delivered');
    for (const e of r.losses) outcome[e.transfer - 1] = e.kind;
    // The subscriber gets exactly the delivered ones, in order and intact.
    for (const [i, id] of ids.entries()) {
      if (outcome[i] !== 'delivered') continue;
      const got = await within(readMsg(r.sub), 10_000, `delivered message ${i + 1}`);
      assert.equal(got?.params.XferId, id);
      assert.equal(got?.payloadSha, sha(payloads[i]));
    }
    for (const e of r.losses) {
      assert.equal(e.xferId, ids[e.transfer - 1], 'a loss names the message it lost');
      assert.deepEqual([e.ch, e.size, e.what], ['1', size, 'message']);
    }
    return outcome;
  } finally {
    await r.stop();
  }
}

const count = (o: Outcome, kind: string) => o.filter((k) => k === kind).length;

describe('seeded fault models', () => {
  // Frames of 2000 bytes: each 5000-byte message takes 3 of them.
  const models: [string, LinkFaults, (o: Outcome) => void][] = [
    ['random loss', { loss: 0.1 }, (o) => assert.ok(count(o, 'lost') > 0)],
    ['burst loss', { burst: { enter: 0.1, leave: 0.3 } }, (o) => assert.ok(count(o, 'lost') > 0)],
    ['loss at the start of transfers', { startLoss: 0.3 }, (o) => assert.ok(count(o, 'lost') > 0)],
    ['loss at the end of transfers', { endLoss: 0.3 }, (o) => assert.ok(count(o, 'lost') > 0)],
    ['corruption', { corrupt: 0.1 }, (o) => assert.ok(count(o, 'corrupt') > 0)],
    ['duplication', { duplicate: 0.3 }, (o) => assert.equal(count(o, 'delivered'), o.length)],
    ['reordering', { reorder: 0.3 }, (o) => assert.equal(count(o, 'delivered'), o.length)],
  ];
  for (const [name, faults, check] of models) {
    it(`${name}: the same seed gives the same outcome twice, on both transports`, async () => {
      const link = (transport: 'stream' | 'udp') => ({
        transport,
        datagramSize: 2000,
        heartbeatMs: 50,
        faults: { seed: 7, ...faults },
      });
      const first = await run(link('stream'), 30, 5000);
      check(first);
      assert.ok(count(first, 'delivered') > 0, 'some messages get through');
      assert.deepEqual(await run(link('stream'), 30, 5000), first, 'same seed, same outcome');
      assert.deepEqual(await run(link('udp'), 30, 5000), first, 'the same on UDP');
      const other = await run({ ...link('stream'), faults: { seed: 8, ...faults } }, 30, 5000);
      if (count(first, 'delivered') < first.length) {
        assert.notDeepEqual(other, first, 'another seed, another outcome');
      }
    });
  }
});

describe('redundancy', () => {
  it('a redundancy of 2 recovers a 1% random loss', async () => {
    const link = { transport: 'udp' as const, datagramSize: 2000, heartbeatMs: 50 };
    const faults = { seed: 3, loss: 0.01 };
    const without = await run({ ...link, faults }, 200, 5000);
    assert.ok(count(without, 'lost') > 0, 'a 1% loss loses messages without redundancy');
    const withCopies = await run({ ...link, faults, redundancy: 2 }, 200, 5000);
    assert.equal(count(withCopies, 'delivered'), 200, 'every message arrives with two copies');
  });
});

describe('heartbeats', () => {
  it('detect a link-down window and its end; what was sent meanwhile is reported lost', async () => {
    const r = await rig({
      transport: 'udp',
      heartbeatMs: 50,
      heartbeatMisses: 3,
      faults: { down: [{ atMs: 500, forMs: 1000 }] },
    });
    try {
      const states: string[] = [];
      r.sim.on('link', (e) => states.push(e.state));
      const down = once(r.sim, 'link');
      await within(down, 10_000, 'the link-down event');
      assert.deepEqual(states, ['down']);
      const lostId = await sendMsg(r.snd, { ch: 1, payload: randomBytes(10_000) });
      await waitFor('the link to come back up', () => states.length === 2, 10_000);
      assert.deepEqual(states, ['down', 'up']);
      await waitFor('the loss report', () => r.losses.length === 1, 10_000);
      assert.equal(r.losses[0]?.xferId, lostId);
      assert.equal(r.losses[0]?.kind, 'lost');
      const payload = randomBytes(10_000);
      const id = await sendMsg(r.snd, { ch: 1, payload });
      const got = await within(readMsg(r.sub), 10_000, 'the message sent after the window');
      assert.equal(got?.params.XferId, id);
      assert.equal(r.sim.stats().linkDowns, 1);
    } finally {
      await r.stop();
    }
  });
});

describe('a fault hook that throws', () => {
  it('aborts that transfer only; the link goes on and still reports later losses', async () => {
    const r = await rig({
      heartbeatMs: 50,
      fault: ({ transfer }) => {
        if (transfer === 1) throw new Error('hook bug');
        return transfer === 3 ? 'drop' : undefined;
      },
    });
    try {
      const ids: string[] = [];
      for (const n of [1, 2, 3])
        ids.push(await sendMsg(r.snd, { ch: 1, payload: Buffer.alloc(100, n) }));
      const got = await within(readMsg(r.sub), 10_000, 'message 2');
      assert.equal(got?.params.XferId, ids[1]);
      await waitFor('the reports of transfers 1 and 3', () => r.losses.length === 2, 10_000);
      assert.deepEqual(r.losses.map((e) => [e.transfer, e.kind, e.xferId]).sort(), [
        [1, 'aborted', ids[0]],
        [3, 'lost', ids[2]],
      ]);
    } finally {
      await r.stop();
    }
  });
});
