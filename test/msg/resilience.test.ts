/**
 * The resubscribing receiver across a receiver node restart, retries running
 * out, refusals that must not be retried, and the push receiver.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { connect } from '../../src/conn/index.ts';
import {
  listenPush,
  type Msg,
  type MsgError,
  type SubscriptionStatus,
  send,
  subscription,
} from '../../src/msg/index.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { waitFor, within } from '../helpers/deadline.ts';
import { rejectsCode } from '../helpers/errors.ts';

const APP = { name: 'app', pass: 'app-pass' };
let sim: Simulator;

function text(m: Msg): string {
  assert.equal(m.payload?.kind, 'bytes');
  return (m.payload as { bytes: Buffer }).bytes.toString();
}

before(async () => {
  sim = await startSimulator({
    accounts: [
      { ...APP, perms: ['*'] },
      { name: 'nobody', pass: 'nobody-pass' },
    ],
  });
});
after(async () => {
  await sim.close();
});

describe('resubscribing subscription', () => {
  it('survives a receiver restart and goes on receiving', async () => {
    const statuses: SubscriptionStatus['type'][] = [];
    const subscribed: (() => void)[] = [];
    const subscriptions = [1, 2].map(
      () => new Promise<void>((resolve) => subscribed.push(resolve)),
    );
    const it = subscription(sim.receiver.subif, {
      ch: 'resub',
      auth: APP,
      retries: 20,
      retryDelayMs: 100,
      onStatus: (s) => {
        statuses.push(s.type);
        if (s.type === 'subscribed') subscribed.shift()?.();
      },
    })[Symbol.asyncIterator]();
    const out = await connect(sim.sender.msgif, { auth: APP });
    const first = it.next();
    // The first subscription happens inside next(): wait for it before sending.
    await within(subscriptions[0] as Promise<void>, 10_000, 'the first subscription');
    await send(out, { ch: 'resub', payload: 'before' });
    assert.equal(text((await within(first, 5000, 'first message')).value as Msg), 'before');

    const second = it.next();
    await sim.restartReceiver(300);
    await within(subscriptions[1] as Promise<void>, 20_000, 'the subscription after the restart');
    await send(out, { ch: 'resub', payload: 'after' });
    assert.equal(
      text((await within(second, 10000, 'message after restart')).value as Msg),
      'after',
    );
    assert.ok(statuses.includes('lost') && statuses.includes('retrying'), statuses.join(','));
    await it.return?.(undefined);
    await out.close();
  });

  it('fails with DISCONNECTED when the retries run out', async () => {
    const probe = await startSimulator({});
    const addr = probe.receiver.subif;
    await probe.close(); // nothing listens there any more
    const it = subscription(addr, { ch: 1, retries: 2, retryDelayMs: 10 });
    const err = await rejectsCode(it.next(), 'DISCONNECTED', 5000);
    assert.match(err.message, /3 times/);
  });

  it('does not retry a refusal', async () => {
    const statuses: string[] = [];
    const it = subscription(sim.receiver.subif, {
      ch: 1,
      auth: { name: 'nobody', pass: 'nobody-pass' },
      retries: 5,
      retryDelayMs: 10,
      onStatus: (s) => statuses.push(s.type),
    });
    await rejectsCode(it.next(), 'SERVER_ERROR');
    assert.deepEqual(statuses, []);
  });

  it('stops quietly when aborted', async () => {
    const ac = new AbortController();
    const it = subscription(sim.receiver.subif, { ch: 'quiet', auth: APP, signal: ac.signal });
    const pending = it.next();
    setTimeout(() => ac.abort(), 100);
    assert.deepEqual(await within(pending, 5000, 'abort'), { done: true, value: undefined });
  });
});

describe('push receiver', () => {
  it('receives pushed messages through the iterator and acknowledges them', async () => {
    const listener = await listenPush('127.0.0.1:0');
    const pushSim = await startSimulator({
      accounts: [{ ...APP, perms: ['*'] }],
      push: [{ ch: 'pushed', addr: listener.address }],
    });
    const out = await connect(pushSim.sender.msgif, { auth: APP });
    const payloads = [randomBytes(10), randomBytes(300_000), Buffer.from('last')];
    for (const payload of payloads) await send(out, { ch: 'pushed', payload });
    const got: Buffer[] = [];
    for await (const m of listener) {
      got.push((m.payload as { bytes: Buffer }).bytes);
      if (got.length === payloads.length) break;
    }
    assert.deepEqual(got, payloads);
    await out.close();
    await pushSim.close();
    await listener.close();
  });

  it('calls onMsg, and a throwing handler is reported to the node as Fail', async () => {
    const seen: string[] = [];
    let onAll = () => {};
    const all = new Promise<void>((resolve) => {
      onAll = resolve;
    });
    const listener = await listenPush('127.0.0.1:0', {
      onMsg: (m) => {
        seen.push(text(m));
        if (seen.length === 3) onAll();
        if (text(m) === 'bad') throw new Error('cannot handle this one');
      },
    });
    const pushSim = await startSimulator({
      accounts: [{ ...APP, perms: ['*'] }],
      push: [{ ch: 7, addr: listener.address }],
    });
    const out = await connect(pushSim.sender.msgif, { auth: APP });
    for (const p of ['one', 'bad', 'three']) await send(out, { ch: 7, payload: p });
    await within(all, 10_000, 'the three pushed messages');
    assert.deepEqual(seen, ['one', 'bad', 'three']);
    await waitFor("the node's count of the Fail reply", () => pushSim.stats().pushesFailed === 1);
    await out.close();
    await pushSim.close();
    await listener.close();
  });

  it('skips a message it cannot receive as asked, answers Fail for it, and goes on', async () => {
    const skipped: [MsgError, number][] = [];
    const seen: string[] = [];
    let onThird = () => {};
    const third = new Promise<void>((resolve) => {
      onThird = resolve;
    });
    const listener = await listenPush('127.0.0.1:0', {
      storeq: (info) => {
        if (info.cmd === 2) throw new Error('no store for cmd 2');
        return 'bytes';
      },
      onSkipped: (err, n) => skipped.push([err, n]),
      onMsg: (m) => {
        seen.push(text(m));
        if (seen.length === 2) onThird();
      },
    });
    const pushSim = await startSimulator({
      accounts: [{ ...APP, perms: ['*'] }],
      push: [{ ch: 8, addr: listener.address }],
    });
    try {
      const out = await connect(pushSim.sender.msgif, { auth: APP });
      for (const cmd of [1, 2, 3]) await send(out, { ch: 8, cmd, payload: `m${cmd}` });
      await out.close();
      await within(third, 10_000, 'the message after the skipped one');
      assert.deepEqual(seen, ['m1', 'm3']);
      assert.deepEqual(
        skipped.map(([err, n]) => [err.cmd, err.skipped, n]),
        [[2, true, 1]],
      );
      assert.match(skipped[0]?.[0].message ?? '', /no store for cmd 2/);
      assert.equal(pushSim.stats().pushesFailed, 1, 'the node was not told of the skipped message');
    } finally {
      await pushSim.close();
      await listener.close();
    }
  });
});
