/**
 * A change that takes a channel away from an account (WrAcc Revoke, Lock,
 * RmAcc) reaches its live subscriptions at once: nothing more is
 * delivered, what was queued is dropped, and the subscriber gets a `Fail`
 * naming the channel, which the client library surfaces as SERVER_ERROR
 * (no resubscribe loop). Subscribers with the right keep receiving.
 * Unix sockets keep the socket buffers small, so queued messages stay queued.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Telegram } from '../../src/blather/index.ts';
import { type Connection, connect } from '../../src/conn/index.ts';
import { acc } from '../../src/mgmt/index.ts';
import { type SubscriptionStatus, subscription } from '../../src/msg/index.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { within } from '../helpers/deadline.ts';
import { rejectsCode } from '../helpers/errors.ts';
import {
  expectFail,
  expectOk,
  failOnUnhandledRejections,
  type InMsg,
  readMsg,
  sendMsg,
  type WireClient,
  WireClients,
} from './wire-client.ts';

failOnUnhandledRejections();

/** A change that takes channel `ch` away from account `name`, and the words the reason uses for it. */
interface Change {
  what: string;
  apply(admin: Connection, name: string, ch: number): Promise<void>;
  why: string;
}

const CHANGES: Change[] = [
  {
    what: 'WrAcc Revoke subscribe:<ch>',
    apply: (admin, name, ch) => acc.wr(admin, name, { perms: { revoke: [`subscribe:${ch}`] } }),
    why: 'its permissions were changed',
  },
  {
    what: 'WrAcc Lock',
    apply: (admin, name) => acc.wr(admin, name, { lock: true }),
    why: 'the account was locked',
  },
  { what: 'RmAcc', apply: (admin, name) => acc.rm(admin, name), why: 'the account was removed' },
];

/** The channel of one test and the subscriber account the change hits: each test has its own. */
interface Target {
  ch: number;
  reader: string;
}

const target = (ch: number): Target => ({ ch, reader: `reader${ch}` });
/** Each change on an idle subscription, and on one with messages queued. */
const TESTS = CHANGES.map((change, i) => ({
  change,
  idle: target(10 + 2 * i),
  queued: target(11 + 2 * i),
}));
const TARGETS = TESTS.flatMap((t) => [t.idle, t.queued]);

const ADMIN = { name: 'admin', pass: 'admin-pass' };
const SENDER = { name: 'sender', pass: 'sender-pass' };
/** Has the same per-channel permission as each reader: the changes must not touch it. */
const HEALTHY = { name: 'healthy', pass: 'healthy-pass' };
const READER_PASS = 'reader-pass';
/** Sends a stream on channel 20 while it loses the right. */
const STREAMER = { name: 'streamer', pass: 'streamer-pass' };
/** Uploads a message on channel 21 while it loses the right. */
const UPLOADER = { name: 'uploader', pass: 'uploader-pass' };
/** Subscribes, then logs out. */
const LOGGED_OUT = { name: 'loggedout', pass: 'loggedout-pass' };

/** Messages of the in-flight tests: far more than the socket buffers of a Unix socket hold. */
const IN_FLIGHT = 32;
const SIZE = 64 * 1024;

let sim: Simulator;
let socketDir: string;
let admin: Connection;
const clients = new WireClients();

before(async () => {
  socketDir = await mkdtemp(join(tmpdir(), 'ddmw-revoke-'));
  sim = await startSimulator({
    unixSocketDir: socketDir,
    accounts: [
      { ...ADMIN, perms: ['*'] },
      { ...SENDER, perms: ['send'] },
      { ...HEALTHY, perms: TARGETS.map((t) => `subscribe:${t.ch}`) },
      { ...LOGGED_OUT, perms: ['subscribe:5'] },
      { ...STREAMER, perms: ['send:20'] },
      { ...UPLOADER, perms: ['send:21'] },
      ...TARGETS.map((t) => ({ name: t.reader, pass: READER_PASS, perms: [`subscribe:${t.ch}`] })),
    ],
  });
  admin = await connect(sim.receiver.mgmtif, { auth: ADMIN });
});
after(async () => {
  clients.destroyAll();
  await admin.close();
  await sim.close();
  await rm(socketDir, { recursive: true, force: true });
});

/** Sends one message on `ch`; returns its XferId. */
async function send(sender: WireClient, ch: number, payload = randomBytes(100)): Promise<string> {
  return within(sendMsg(sender, { ch, payload }), 10_000, `sending a message on channel ${ch}`);
}

/** Reads the next message of a subscriber; fails when none comes. */
async function nextMsg(client: WireClient, who: string): Promise<InMsg> {
  const got = await within(readMsg(client), 10_000, `the next message at ${who}`);
  assert.ok(got, `${who} was disconnected`);
  return got;
}

/** Reads whole messages until something else comes; their XferIds, and that telegram (`undefined`: the end). */
async function readUntilOther(client: WireClient): Promise<{ ids: string[]; last?: Telegram }> {
  const ids: string[] = [];
  for (;;) {
    const tg = await client.reader.nextTelegram();
    if (tg?.topic !== 'Msg') return { ids, last: tg };
    await client.reader.skip(Number(tg.params.get('MetaLen')) + Number(tg.params.get('Len')));
    ids.push(tg.params.getStr('XferId'));
  }
}

function reasonPattern(reader: string, ch: number, why: string): RegExp {
  return new RegExp(
    `^Permission revoked: account "${reader}" may no longer subscribe to channel "${ch}" \\(${why}\\)`,
  );
}

/** A subscription of `reader` through the library's resubscribing iterator, with its statuses. */
async function librarySubscription(reader: string, ch: number) {
  const statuses: SubscriptionStatus[] = [];
  let subscribed = () => {};
  const isSubscribed = new Promise<void>((resolve) => {
    subscribed = resolve;
  });
  const messages = subscription(sim.receiver.subif, {
    ch,
    auth: { name: reader, pass: READER_PASS },
    retryDelayMs: 0,
    onStatus: (status) => {
      statuses.push(status);
      if (status.type === 'subscribed') subscribed();
    },
  });
  const first = messages.next(); // starts it
  await within(isSubscribed, 10_000, `${reader}'s subscription`);
  return { messages, first, statuses };
}

/** An idle subscription: the library ends it with the node's reason, and does not resubscribe. */
async function idleSubscription(change: Change, { ch, reader }: Target): Promise<void> {
  const sender = await clients.open(sim.sender.msgif, SENDER);
  const healthy = await clients.subscriber(sim.receiver.subif, ch, HEALTHY);
  const { messages, first, statuses } = await librarySubscription(reader, ch);
  const before = await send(sender, ch);
  const got = await within(first, 10_000, `the first message at ${reader}`);
  assert.equal(got.done ? undefined : got.value.xferId, before);
  assert.equal((await nextMsg(healthy, 'the healthy subscriber')).params.XferId, before);

  await change.apply(admin, reader, ch);
  const ended = await rejectsCode(messages.next(), 'SERVER_ERROR');
  assert.match(ended.params?.get('Reason') ?? '', reasonPattern(reader, ch, change.why));
  assert.deepEqual(
    statuses.map((s) => s.type),
    ['subscribed'],
    'no resubscription after the refusal',
  );
  const after = await send(sender, ch);
  assert.equal((await nextMsg(healthy, 'the healthy subscriber')).params.XferId, after);
  assert.deepEqual(await messages.next(), { done: true, value: undefined });
}

/** A stalled subscriber with messages queued: they are dropped, then the Fail, then the end. */
async function queuedMessages(change: Change, { ch, reader }: Target): Promise<void> {
  const sender = await clients.open(sim.sender.msgif, SENDER);
  const healthy = await clients.subscriber(sim.receiver.subif, ch, HEALTHY);
  const stalled = await clients.subscriber(sim.receiver.subif, ch, {
    name: reader,
    pass: READER_PASS,
  });
  stalled.socket.pause(); // reads nothing until the change is made
  const sent: string[] = [];
  for (let i = 0; i < IN_FLIGHT; i++) sent.push(await send(sender, ch, randomBytes(SIZE)));
  // Once the healthy subscriber has them all, every one was offered to the stalled one too.
  for (const xferId of sent) {
    assert.equal((await nextMsg(healthy, 'the healthy subscriber')).params.XferId, xferId);
  }

  await change.apply(admin, reader, ch);
  const after = await send(sender, ch);
  const got = await within(readUntilOther(stalled), 10_000, 'the stalled subscriber');
  // What was written before the change arrives whole and in order; the queue was dropped.
  assert.ok(got.ids.length < IN_FLIGHT, `${got.ids.length} of ${IN_FLIGHT} delivered`);
  assert.deepEqual(got.ids, sent.slice(0, got.ids.length));
  assert.equal(got.last?.topic, 'Fail', `a Fail after the messages, got ${got.last}`);
  assert.match(got.last.params.getStr('Reason'), reasonPattern(reader, ch, change.why));
  assert.equal(await within(stalled.next(), 5000, 'the end of the connection'), undefined);
  assert.equal((await nextMsg(healthy, 'the healthy subscriber')).params.XferId, after);
}

for (const { change, idle, queued } of TESTS) {
  describe(change.what, () => {
    it('ends an idle library subscription with SERVER_ERROR naming the channel, without resubscribing; others keep receiving', async () => {
      const revoked = sim.stats().subscriptionsRevoked;
      await idleSubscription(change, idle);
      assert.equal(sim.stats().subscriptionsRevoked, revoked + 1);
    });
    it('drops the messages queued for a subscriber, then ends it with a Fail naming the channel; others keep receiving', async () => {
      const revoked = sim.stats().subscriptionsRevoked;
      await queuedMessages(change, queued);
      assert.equal(sim.stats().subscriptionsRevoked, revoked + 1);
    });
  });
}

describe('a locked account', () => {
  it('loses its rights on connections logged in before, and gets them back when unlocked', async () => {
    const sender = await clients.open(sim.sender.msgif, SENDER);
    await acc.wr(admin, SENDER.name, { lock: true });
    const reason = await expectFail(sender, 'Msg', { _Ch: '7', Len: 1 });
    assert.equal(
      reason,
      'Permission denied: account "sender" may not send on channel "7" (the account is locked or removed)',
    );
    await acc.wr(admin, SENDER.name, { lock: false });
    await send(sender, 7);
  });
});

describe('a subscription made before logging out', () => {
  it('ends when the account that made it loses the right', async () => {
    const ch = 5;
    const sub = await clients.subscriber(sim.receiver.subif, ch, LOGGED_OUT);
    await expectOk(sub, 'Unauth');
    const sender = await clients.open(sim.sender.msgif, SENDER);
    const before = await send(sender, ch);
    assert.equal((await nextMsg(sub, 'the subscriber')).params.XferId, before);
    await acc.wr(admin, LOGGED_OUT.name, { perms: { revoke: [`subscribe:${ch}`] } });
    const fail = await within(sub.next(), 10_000, 'the Fail');
    assert.equal(fail?.topic, 'Fail', `a Fail, got ${fail}`);
    const why = 'its permissions were changed';
    assert.match(fail.params.getStr('Reason'), reasonPattern(LOGGED_OUT.name, ch, why));
  });
});

describe('a stream being sent', () => {
  it('is aborted at its next frame once the account may no longer send on its channel', async () => {
    const ch = 20;
    const sub = await clients.subscriber(sim.receiver.subif, ch, ADMIN);
    const streamer = await clients.open(sim.sender.msgif, STREAMER);
    const xferId = (await expectOk(streamer, 'Strm', { _Ch: String(ch) })).XferId;
    streamer.send('Chunk', { Len: 3 });
    streamer.socket.write('abc');
    const start = await within(sub.next(), 10_000, 'the start of the stream');
    assert.equal(start?.topic, 'Strm', `the stream starts, got ${start}`);
    const chunk = await within(sub.next(), 10_000, 'the first chunk');
    assert.equal(chunk?.topic, 'Chunk', `a chunk, got ${chunk}`);
    await sub.reader.skip(3);

    await acc.wr(admin, STREAMER.name, { perms: { revoke: [`send:${ch}`] } });
    streamer.send('Chunk', { Len: 3 });
    streamer.socket.write('def');
    const revoked = `Permission revoked: account "streamer" may no longer send on channel "${ch}"`;
    const fail = await within(streamer.next(), 10_000, "the streamer's Fail");
    assert.equal(fail?.topic, 'Fail', `a Fail, got ${fail}`);
    assert.equal(fail.params.getStr('Reason'), `Stream ${xferId} aborted: ${revoked}`);
    assert.equal(await within(streamer.next(), 5000, 'the end of the connection'), undefined);
    const abort = await within(sub.next(), 10_000, 'the abort of the stream');
    assert.equal(abort?.topic, 'StrmAbort', `the subscriber gets StrmAbort, got ${abort}`);
    assert.equal(abort.params.getStr('Reason'), revoked);
  });
});

describe('a message being uploaded', () => {
  it('is refused with a Fail naming the channel once the account may no longer send on it; the connection goes on', async () => {
    const ch = 21;
    const sub = await clients.subscriber(sim.receiver.subif, ch, ADMIN);
    const uploader = await clients.open(sim.sender.msgif, UPLOADER);
    const aborted = sim.stats().msgsAborted;
    await expectOk(uploader, 'Msg', { _Ch: String(ch), Len: 6 });
    uploader.socket.write('abc');
    await acc.wr(admin, UPLOADER.name, { perms: { revoke: [`send:${ch}`] } });
    uploader.socket.write('def');
    const fail = await within(uploader.next(), 10_000, "the uploader's reply");
    assert.equal(fail?.topic, 'Fail', `a Fail, got ${fail}`);
    assert.equal(
      fail.params.getStr('Reason'),
      `Permission revoked: account "uploader" may no longer send on channel "${ch}"`,
    );
    assert.equal(sim.stats().msgsAborted, aborted + 1);
    // The payload was read to its end: the next request is understood.
    assert.equal((await expectOk(uploader, 'WhoAmI')).Name, UPLOADER.name);
    // The subscriber gets the next message of the channel, not the refused one.
    const sender = await clients.open(sim.sender.msgif, SENDER);
    const xferId = await send(sender, ch);
    assert.equal((await nextMsg(sub, 'the subscriber')).params.XferId, xferId);
  });
});
