/** Delivery on the receiver node: disconnects, slow subscribers, restarts, push targets, counters. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeTelegram, FrameReader, Telegram } from '../../src/blather/index.ts';
import { type SimulatorOptions, startSimulator } from '../../src/sim/index.ts';
import { waitFor, waitForAsync, within } from '../helpers/deadline.ts';
import { sha } from '../helpers/sha.ts';
import {
  connectTo,
  expectOk,
  failOnUnhandledRejections,
  readMsg,
  sendMsg,
  WireClients,
} from './wire-client.ts';

const ALL = { name: 'all', pass: 'pw' };
const ACCOUNTS = [{ ...ALL, perms: ['*'] }];

failOnUnhandledRejections();

/** A simulator, its log and its clients, all closed by `stop()`. */
async function setup(options: SimulatorOptions = {}) {
  const log: string[] = [];
  const sim = await startSimulator({
    accounts: ACCOUNTS,
    log: (line) => log.push(line),
    ...options,
  });
  const clients = new WireClients();
  const login = (address: string) => clients.open(address, ALL);
  const subscriber = (ch: string | number) => clients.subscriber(sim.receiver.subif, ch, ALL);
  const spoolDir = log.find((line) => line.startsWith('spool folder '))?.slice(13) ?? '';
  const spoolFiles = () => readdir(spoolDir);
  const stop = async () => {
    clients.destroyAll();
    await sim.close();
  };
  return { sim, log, login, subscriber, spoolFiles, stop };
}

describe('one simulator', () => {
  let t: Awaited<ReturnType<typeof setup>>;
  before(async () => {
    t = await setup();
  });
  after(() => t.stop());

  it('delivers nothing of a message whose client disconnects in the middle, and keeps working', async () => {
    const sub = await t.subscriber(1);
    const snd = await t.login(t.sim.sender.msgif);
    const before = t.sim.stats();
    const reply = await snd.request('Msg', { _Ch: '1', MetaLen: 3, Len: 1024 * 1024 });
    assert.equal(reply.topic, 'Ok');
    snd.socket.write('abc');
    assert.equal((await snd.next())?.topic, 'Ok');
    snd.socket.end(randomBytes(300 * 1024));
    await within(snd.closed, 10_000, 'the client connection to close');
    await waitFor('the abort', () => t.sim.stats().msgsAborted === before.msgsAborted + 1);
    await waitFor(
      'the receiving end to discard the aborted transfer',
      () => t.sim.stats().transfersAborted === before.transfersAborted + 1,
    );
    await waitForAsync(
      'the partial spool file to go',
      async () => (await t.spoolFiles()).length === 0,
    );
    const next = await t.login(t.sim.sender.msgif);
    const payload = randomBytes(100_000);
    const xferId = await sendMsg(next, { ch: 1, payload });
    const got = await readMsg(sub);
    assert.equal(
      got?.params.XferId,
      xferId,
      'the first message the subscriber sees is the next one',
    );
    assert.equal(got?.payloadSha, sha(payload));
    assert.equal(t.sim.stats().msgsAccepted, before.msgsAccepted + 1);
  });

  it('keeps delivering to the others when a subscriber disconnects in the middle of a message', async () => {
    const quitter = await t.subscriber(2);
    const stayer = await t.subscriber(2);
    const snd = await t.login(t.sim.sender.msgif);
    const payload = randomBytes(8 * 1024 * 1024);
    const xferId = await sendMsg(snd, { ch: 2, payload });
    const tg = await quitter.reader.readTelegram();
    assert.equal(tg.params.get('XferId'), xferId);
    await quitter.reader.readBytes(1000);
    quitter.socket.destroy();
    const got = await readMsg(stayer);
    assert.equal(got?.payloadSha, sha(payload));
    const small = await sendMsg(snd, { ch: 2, payload: Buffer.from('after') });
    assert.equal((await readMsg(stayer))?.params.XferId, small);
  });

  it('feeds a fast subscriber while a slow one is not reading, then the slow one gets everything', async () => {
    const slow = await t.subscriber(3);
    const fast = await t.subscriber(3);
    const snd = await t.login(t.sim.sender.msgif);
    const payloads = Array.from({ length: 40 }, () => randomBytes(256 * 1024));
    const sent: string[] = [];
    for (const payload of payloads) sent.push(await sendMsg(snd, { ch: 3, payload }));
    // 10 MiB: more than the socket buffers hold, so the slow subscriber's queue is in use.
    for (const [i, payload] of payloads.entries()) {
      const got = await readMsg(fast);
      assert.equal(got?.params.XferId, sent[i]);
      assert.equal(got?.payloadSha, sha(payload));
    }
    for (const id of sent) assert.equal((await readMsg(slow))?.params.XferId, id);
  });

  it('lets replies through only between whole messages', async () => {
    const sub = await t.subscriber(4);
    const snd = await t.login(t.sim.sender.msgif);
    const payload = randomBytes(4 * 1024 * 1024);
    const routed = t.sim.stats().transfersDelivered;
    await sendMsg(snd, { ch: 4, payload });
    await sendMsg(snd, { ch: 4, payload });
    // The subscriber reads nothing yet: the first message is on its way, stuck in the socket buffers.
    await waitFor('the first message', () => t.sim.stats().transfersDelivered > routed);
    sub.send('WhoAmI');
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      const tg = await sub.reader.readTelegram();
      seen.push(tg.topic);
      if (tg.topic === 'Msg')
        assert.equal(sha(await sub.reader.readBytes(Number(tg.params.get('Len')))), sha(payload));
    }
    assert.equal(seen[0], 'Msg', 'the reply waits for the message being written');
    assert.deepEqual([...seen].sort(), ['Msg', 'Msg', 'Ok']);
  });
});

describe('a subscriber whose queue overflows', () => {
  it('gets Fail "too slow" between messages and is disconnected; the others carry on', async () => {
    const t = await setup({ queueLimit: 2 });
    try {
      const slow = await t.subscriber(1);
      const fast = await t.subscriber(1);
      const snd = await t.login(t.sim.sender.msgif);
      const payloads: Buffer[] = [];
      // The fast subscriber reads each message before the next is sent: only the slow one falls behind.
      while (t.sim.stats().slowSubscribersDropped === 0) {
        assert.ok(payloads.length < 100, 'the slow subscriber overflows');
        const payload = randomBytes(1024 * 1024);
        payloads.push(payload);
        await sendMsg(snd, { ch: 1, payload });
        const got = await within(
          readMsg(fast),
          10_000,
          `message ${payloads.length} at the fast subscriber`,
        );
        assert.equal(got?.payloadSha, sha(payload));
      }
      await sendMsg(snd, { ch: 1, cmd: 999 });
      const last = await within(readMsg(fast), 10_000, 'the last message at the fast subscriber');
      assert.equal(last?.params.Cmd, '999');
      let whole = 0;
      for (;;) {
        const tg = await slow.reader.nextTelegram();
        if (tg?.topic !== 'Msg') {
          assert.equal(tg?.topic, 'Fail');
          assert.match(tg.params.get('Reason') ?? '', /too slow/);
          break;
        }
        const got = await slow.reader.readBytes(Number(tg.params.get('Len')));
        assert.equal(sha(got), sha(payloads[whole]));
        whole++;
      }
      assert.ok(whole > 0 && whole < payloads.length);
      assert.equal(await slow.next(), undefined, 'then the connection ends');
      assert.ok(t.log.some((line) => line.includes('subscriber too slow')));
    } finally {
      await t.stop();
    }
  });
});

describe('restartReceiver', () => {
  for (const mode of ['tcp', 'unix'] as const) {
    it(`ends old subscriptions, drops what arrives while down and serves new ones (${mode})`, async () => {
      const dir = mode === 'unix' ? await mkdtemp(join(tmpdir(), 'ddmw-sim-restart-')) : undefined;
      const t = await setup(dir ? { unixSocketDir: dir } : {});
      try {
        const old = await t.subscriber(1);
        const snd = await t.login(t.sim.sender.msgif);
        const restarted = t.sim.restartReceiver(300);
        assert.equal(await old.next(), undefined, 'the old subscriber sees the end of the stream');
        await assert.rejects(connectTo(t.sim.receiver.subif));
        await sendMsg(snd, { ch: 1, payload: Buffer.from('lost') });
        await waitFor('the drop', () => t.sim.stats().droppedReceiverDown === 1);
        await restarted;
        const fresh = await t.subscriber(1);
        const xferId = await sendMsg(snd, { ch: 1, payload: Buffer.from('after') });
        assert.equal((await readMsg(fresh))?.params.XferId, xferId);
        await t.sim.restartReceiver();
        assert.equal(await fresh.next(), undefined);
      } finally {
        await t.stop();
        if (dir) await rm(dir, { recursive: true, force: true });
      }
      await assert.rejects(t.sim.restartReceiver(), { code: 'BAD_STATE' });
    });
  }
});

/** A push target application: acknowledges each pushed message with `reply(n)` (the n-th, from 0). */
async function pushApp(listenOn: number | string, reply: (n: number) => Telegram | 'hang-up') {
  const got: { params: Record<string, string>; payloadSha: string }[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer(async (socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    const reader = new FrameReader(socket);
    for (;;) {
      const tg = await reader.nextTelegram().catch(() => undefined);
      if (!tg) return;
      await reader.skip(Number(tg.params.get('MetaLen')));
      const payload = await reader.readBytes(Number(tg.params.get('Len')));
      const answer = reply(got.length);
      got.push({ params: tg.params.toObject(), payloadSha: sha(payload) });
      if (answer === 'hang-up') {
        socket.destroy();
        return;
      }
      socket.write(encodeTelegram(answer));
    }
  });
  await new Promise<void>((resolve) => server.listen(listenOn, resolve));
  const address = server.address();
  const addr = typeof address === 'string' ? address : `127.0.0.1:${address?.port}`;
  const close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  return { got, addr, close };
}

describe('push targets', () => {
  it('pushes each message of its channel and waits for Ok or Fail; reconnects after a hang-up', async () => {
    const app = await pushApp(0, (n) =>
      n === 2
        ? 'hang-up'
        : new Telegram(n === 1 ? 'Fail' : 'Ok', n === 1 ? { Reason: 'nope' } : {}),
    );
    const t = await setup({ push: [{ ch: 8, addr: app.addr }], pushReconnectDelayMs: 50 });
    try {
      const snd = await t.login(t.sim.sender.msgif);
      const payloads = [0, 1, 2, 3].map(() => randomBytes(70_000));
      const ids: string[] = [];
      for (const payload of payloads)
        ids.push(await sendMsg(snd, { ch: 8, meta: Buffer.from('m'), payload }));
      await sendMsg(snd, { ch: 9, payload: Buffer.from('not for the push target') });
      await waitFor('the pushes', () => t.sim.stats().pushesAcked === 3);
      // The third message was pushed twice: the application hung up instead of answering.
      assert.deepEqual(
        app.got.map((m) => m.params.XferId),
        [ids[0], ids[1], ids[2], ids[2], ids[3]],
      );
      assert.deepEqual(app.got[0]?.params, {
        _Ch: '8',
        XferId: ids[0],
        Cmd: '0',
        MetaLen: '1',
        Len: '70000',
      });
      assert.deepEqual(
        app.got.map((m) => m.payloadSha),
        [0, 1, 2, 2, 3].map((i) => sha(payloads[i])),
      );
      const stats = t.sim.stats();
      assert.equal(stats.pushesFailed, 1);
      assert.equal(stats.droppedNoSubscriber, 1, 'channel 9 had nobody');
      assert.ok(t.log.some((line) => line.includes('not accepted') && line.includes('nope')));
    } finally {
      await t.stop();
      await app.close();
    }
  });

  it('keeps a message until the application is there', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ddmw-sim-push-'));
    const path = join(dir, 'app.sock');
    const t = await setup({ push: [{ ch: 'events', addr: path }], pushReconnectDelayMs: 50 });
    try {
      const snd = await t.login(t.sim.sender.msgif);
      const xferId = await sendMsg(snd, { ch: 'events' });
      await waitFor('a failed attempt', () =>
        t.log.some((line) => line.includes('retrying in 50 ms')),
      );
      const app = await pushApp(path, () => new Telegram('Ok'));
      await waitFor('the push', () => t.sim.stats().pushesAcked === 1);
      assert.equal(app.got[0]?.params.XferId, xferId);
      await app.close();
    } finally {
      await t.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('stats', () => {
  it('counts what happened', async () => {
    const t = await setup({ link: { heartbeatMs: 600_000 } }); // no heartbeat frames to count
    try {
      const sub = await t.subscriber(1);
      const snd = await t.login(t.sim.sender.msgif);
      await sendMsg(snd, { ch: 1, payload: randomBytes(100_000) });
      await sendMsg(snd, { ch: 2 });
      await expectOk(snd, 'Unauth');
      assert.equal((await snd.request('Msg', { _Ch: '1' })).topic, 'Fail');
      await readMsg(sub);
      await waitFor(
        'quiet',
        () => t.sim.stats().droppedNoSubscriber === 1 && t.sim.stats().deliveries === 1,
      );
      assert.deepEqual(t.sim.stats(), {
        msgsAccepted: 2,
        msgsRejected: 1,
        msgsAborted: 0,
        transfersSent: 2,
        framesSent: 3,
        framesDropped: 0,
        transfersDelivered: 2,
        transfersLost: 0,
        transfersCorrupt: 0,
        transfersAborted: 0,
        framesIgnored: 0,
        framesRejected: 0,
        linkDowns: 0,
        deliveries: 1,
        droppedNoSubscriber: 1,
        droppedReceiverDown: 0,
        slowSubscribersDropped: 0,
        subscriptionsRevoked: 0,
        pushesAcked: 0,
        pushesFailed: 0,
        pushesDropped: 0,
        authFailed: 0,
        authRefused: 0,
        connectionsRefused: 0,
        connectionsEvicted: 0,
        connectionsTimedOut: 0,
      });
      assert.deepEqual(await t.spoolFiles(), [], 'delivered messages leave no spool file');
    } finally {
      await t.stop();
    }
  });
});
