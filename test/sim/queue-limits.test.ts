/** Queue limits of subscribers on the receiver node: a stalled subscriber harms only itself. */
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Telegram } from '../../src/blather/index.ts';
import type { Simulator } from '../../src/sim/index.ts';
import { within } from '../helpers/deadline.ts';
import { sha } from '../helpers/sha.ts';
import { linkReport, MiB, setup, until } from './limits-helpers.ts';
import {
  expectOk,
  failOnUnhandledRejections,
  type InMsg,
  readMsg,
  sendMsg,
  type WireClient,
} from './wire-client.ts';

failOnUnhandledRejections();

/** What a subscriber got: whole messages, then the telegram that was not a `Msg` (`undefined`: the end). */
interface Received {
  msgs: InMsg[];
  last: Telegram | undefined;
}

/** Reads messages until something else comes (or the connection ends). */
async function readUntilOther(client: WireClient): Promise<Received> {
  const msgs: InMsg[] = [];
  for (;;) {
    const tg = await client.reader.nextTelegram();
    if (tg?.topic !== 'Msg') return { msgs, last: tg };
    const meta = await client.reader.readBytes(Number(tg.params.get('MetaLen')));
    const payload = await client.reader.readBytes(Number(tg.params.get('Len')));
    msgs.push({ params: tg.params.toObject(), metaSha: sha(meta), payloadSha: sha(payload) });
  }
}

/** The parts of a byte-limit reason: `message <id>: <n> messages of <b> bytes waiting, <s> more would exceed queueLimitBytes (<limit>)`. */
const BYTES_REASON =
  /message (\S+): (\d+) messages of (\d+) bytes waiting, (\d+) more would exceed queueLimitBytes \((\d+)\)/;

function parseBytesReason(text: string) {
  const m = BYTES_REASON.exec(text);
  assert.ok(m, `a reason naming queueLimitBytes, got: ${text}`);
  const [xferId, count, bytes, size, limit] = [m[1] ?? '', ...m.slice(2).map(Number)];
  return { xferId, count, bytes, size, limit };
}

describe('a stalled subscriber', () => {
  it('is dropped once its waiting bytes would exceed queueLimitBytes; the others get every message', async () => {
    const LIMIT = MiB;
    const COUNT = 5000;
    const t = await setup({ queueLimitBytes: LIMIT, link: { rateBytesPerSec: 64 * MiB } });
    try {
      const stalled = await t.subscriber('A');
      stalled.socket.pause(); // reads nothing from now on
      const healthy = await t.subscriber('A');
      const other = await t.subscriber('B');
      const snd = await t.sender();
      const msgs = Array.from({ length: COUNT }, (_, i) => ({
        meta: Buffer.from(`message ${i}`),
        payload: randomBytes(randomInt(4 * 1024, 16 * 1024 + 1)),
      }));
      const sent: string[] = [];
      const healthyGot: InMsg[] = [];
      const progress = () =>
        `${sent.length} sent, healthy subscriber got ${healthyGot.length}, ` +
        `${t.sim.stats().slowSubscribersDropped} dropped as too slow; ${linkReport(t.sim)}`;
      const [, , bGot, stalledGot] = await within(
        Promise.all([
          (async () => {
            for (const msg of msgs) sent.push(await sendMsg(snd, { ch: 'A', ...msg }));
            sent.push(await sendMsg(snd, { ch: 'B', payload: Buffer.from('the end') }));
          })(),
          (async () => {
            while (healthyGot.length < COUNT) {
              const got = await readMsg(healthy);
              if (!got) throw new Error('the healthy subscriber was disconnected');
              healthyGot.push(got);
            }
          })(),
          readMsg(other),
          // Once dropped, the stalled subscriber reads what was written to it before, then the Fail.
          (async () => {
            const dropped = () => t.sim.stats().slowSubscribersDropped > 0;
            // When the healthy subscriber has every message, all were offered to the stalled one too.
            await until(t.sim, 'the drop', () => dropped() || healthyGot.length === COUNT, 120_000);
            if (!dropped()) throw new Error('the stalled subscriber was not dropped');
            return readUntilOther(stalled);
          })(),
        ]),
        120_000,
        'every message sent and received',
        progress,
      );

      for (const [i, got] of healthyGot.entries()) {
        assert.equal(got.params.XferId, sent[i], `healthy subscriber: message ${i} in order`);
        assert.equal(got.metaSha, sha(msgs[i]?.meta), `healthy subscriber: metadata ${i}`);
        assert.equal(got.payloadSha, sha(msgs[i]?.payload), `healthy subscriber: payload ${i}`);
      }
      assert.equal(bGot?.params.XferId, sent[COUNT], 'the subscriber of B got its message');
      assert.equal(bGot?.payloadSha, sha(Buffer.from('the end')));
      assert.equal(t.sim.stats().slowSubscribersDropped, 1, 'only the stalled subscriber');

      // The stalled subscriber got the first messages whole and in order, then the Fail.
      const taken = stalledGot.msgs.length;
      for (const [i, got] of stalledGot.msgs.entries()) {
        assert.equal(got.params.XferId, sent[i], `stalled subscriber: message ${i} in order`);
        assert.equal(got.payloadSha, sha(msgs[i]?.payload), `stalled subscriber: payload ${i}`);
      }
      const fail = stalledGot.last;
      assert.ok(fail?.topic === 'Fail', `the stalled subscriber gets Fail, got ${fail}`);
      const reason = fail.params.getStr('Reason');
      assert.match(reason, /^too slow: /);
      assert.equal(await within(stalled.next(), 5000, 'the end of the connection'), undefined);
      const logged = t.log.find((line) => line.includes('subscriber too slow'));
      assert.ok(logged, 'the drop is logged');
      assert.ok(logged.includes(`queueLimitBytes (${LIMIT})`), logged);

      // Dropped at the right point: exactly the messages after those written to it waited, and
      // their bytes were within the limit that the next message would have exceeded.
      const over = parseBytesReason(reason);
      const k = sent.indexOf(over.xferId);
      const sizeOf = (i: number) => (msgs[i]?.meta.length ?? 0) + (msgs[i]?.payload.length ?? 0);
      let waiting = 0;
      for (let i = taken; i < k; i++) waiting += sizeOf(i);
      assert.ok(k > taken, `message ${k} tripped the limit after ${taken} were written`);
      assert.deepEqual(over, {
        xferId: sent[k],
        count: k - taken,
        bytes: waiting,
        size: sizeOf(k),
        limit: LIMIT,
      });
      assert.ok(waiting <= LIMIT && waiting + sizeOf(k) > LIMIT, `${waiting} bytes waited`);
    } finally {
      await t.stop();
    }
  });
});

describe('queueLimitBytes', () => {
  it('counts bytes, not messages: a few large messages trip it; with nothing waiting, one over it is taken', async () => {
    const LIMIT = 256 * 1024;
    const t = await setup({ queueLimit: 1000, queueLimitBytes: LIMIT });
    try {
      const stalled = await t.subscriber(1);
      stalled.socket.pause();
      const reading = await t.subscriber(1);
      const snd = await t.sender();
      const sent: string[] = [];
      // Once the socket buffers are full, one message waits and the next one trips the limit.
      while (t.sim.stats().slowSubscribersDropped === 0) {
        assert.ok(sent.length < 64, 'the stalled subscriber is dropped within 64 MiB');
        const payload = randomBytes(MiB);
        sent.push(await sendMsg(snd, { ch: 1, payload }));
        // The reading subscriber takes each message before the next is sent: nothing waits for it.
        const what = `message ${sent.length} at the reading subscriber`;
        const got = await within(readMsg(reading), 10_000, what, () => linkReport(t.sim));
        assert.equal(got?.payloadSha, sha(payload));
      }
      const over = parseBytesReason(t.log.find((line) => line.includes('too slow')) ?? '');
      assert.deepEqual(over, {
        xferId: sent.at(-1),
        count: 1,
        bytes: MiB,
        size: MiB,
        limit: LIMIT,
      });

      const stalledGot = await within(
        readUntilOther(stalled),
        10_000,
        "the stalled subscriber's Fail",
      );
      assert.deepEqual(
        stalledGot.msgs.map((m) => m.params.XferId),
        sent.slice(0, sent.length - 2),
        'it got the messages written to it, not the one that waited',
      );
      assert.equal(stalledGot.last?.topic, 'Fail');
      assert.equal(t.sim.stats().slowSubscribersDropped, 1, 'only the stalled subscriber');
    } finally {
      await t.stop();
    }
  });
});

/** Opens a stream on a new sender connection; the stream holds that connection until it ends. */
async function openStream(t: Awaited<ReturnType<typeof setup>>, ch: number) {
  const client = await t.sender();
  const xferId = (await expectOk(client, 'Strm', { _Ch: String(ch) })).XferId ?? '';
  return { client, xferId };
}

/** The next telegram on a subscriber's connection (chunk bytes skipped), within 5 s. */
async function nextOn(sim: Simulator, client: WireClient, what: string) {
  const read = async () => {
    const tg = await client.reader.nextTelegram();
    if (tg?.topic === 'Chunk') await client.reader.skip(Number(tg.params.get('Len')));
    return tg;
  };
  return within(read(), 5000, what, () => linkReport(sim));
}

describe('a subscriber dropped while a stream holds its connection', () => {
  it('gets StrmAbort, then Fail, and is disconnected at once', async () => {
    const t = await setup({ queueLimitBytes: 256 * 1024 });
    try {
      const sub = await t.subscriber(1);
      const stream = await openStream(t, 1); // never ended: the messages wait behind it
      const start = await nextOn(t.sim, sub, 'the start of the stream');
      assert.deepEqual([start?.topic, start?.params.get('XferId')], ['Strm', stream.xferId]);
      const snd = await t.sender();
      // The first waits (nothing else does), the second would exceed the limit.
      for (let i = 0; i < 2; i++) await sendMsg(snd, { ch: 1, payload: randomBytes(200 * 1024) });
      const abort = await nextOn(t.sim, sub, 'the StrmAbort');
      assert.equal(abort?.topic, 'StrmAbort');
      assert.match(abort.params.getStr('Reason'), /^too slow: .*queueLimitBytes \(262144\)/);
      const fail = await nextOn(t.sim, sub, 'the Fail');
      assert.equal(fail?.topic, 'Fail');
      assert.match(fail.params.getStr('Reason'), /^too slow: /);
      assert.equal(await nextOn(t.sim, sub, 'the end of the connection'), undefined);
    } finally {
      await t.stop();
    }
  });
});

describe('streams waiting for a subscriber', () => {
  it('count what they have buffered towards queueLimitBytes', async () => {
    const t = await setup({ queueLimitBytes: MiB });
    try {
      const sub = await t.subscriber(1);
      const first = await openStream(t, 1); // never ended: the others wait behind it
      const start = await nextOn(t.sim, sub, 'the start of the first stream');
      assert.equal(start?.params.get('XferId'), first.xferId);
      // Two streams of 600 KiB wait: together over the limit, each under it.
      const waiting = [await openStream(t, 1), await openStream(t, 1)];
      for (const { client } of waiting) {
        client.send('Chunk', { Len: 600 * 1024 });
        client.socket.write(randomBytes(600 * 1024));
        await expectOk(client, 'StrmEnd');
      }
      const abort = await nextOn(t.sim, sub, 'the StrmAbort of the first stream');
      assert.equal(abort?.topic, 'StrmAbort');
      const fail = await nextOn(t.sim, sub, 'the Fail');
      assert.equal(fail?.topic, 'Fail');
      assert.match(
        fail.params.getStr('Reason'),
        new RegExp(
          `^too slow: stream ${waiting[1]?.xferId}: 2 messages and streams of \\d+ bytes waiting exceed queueLimitBytes \\(${MiB}\\)$`,
        ),
      );
      assert.equal(t.sim.stats().slowSubscribersDropped, 1);
    } finally {
      await t.stop();
    }
  });
});
