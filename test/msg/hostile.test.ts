/**
 * Receiving under hostile senders, against the simulator: a message that
 * cannot be received as asked is skipped whole (its payload is never read
 * as a telegram), reported with its transfer id, command and channel, and
 * the receive loops go on with the next message.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeTelegram, Telegram } from '../../src/blather/index.ts';
import type { Connection } from '../../src/conn/index.ts';
import {
  type Msg,
  MsgError,
  messages,
  recv,
  type StoreQ,
  type SubscriptionStatus,
  send,
  subscribe,
  subscription,
} from '../../src/msg/index.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { closedAfterFile } from '../helpers/closed-after.ts';
import { within } from '../helpers/deadline.ts';

/** An account that may only send on channel 42 (and a subscriber account). */
const ATTACKER = { name: 'mallory', pass: 'mallory-pass' };
const APP = { name: 'app', pass: 'app-pass' };
const DEADLINE_MS = 20_000;

let sim: Simulator;
let dir: string;
const files = closedAfterFile();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ddmw-hostile-'));
  sim = await startSimulator({
    accounts: [
      { ...ATTACKER, perms: ['send:42'] },
      { ...APP, perms: ['*'] },
    ],
  });
});
after(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

const connection = (addr: string, auth = APP) => files.open(addr, { auth });

async function subscriber(ch: number): Promise<Connection> {
  const c = await connection(sim.receiver.subif);
  await subscribe(c, ch);
  return c;
}

/** A payload that is a whole `Msg` telegram and its parts, as if sent on channel 7. */
const FORGED = Buffer.concat([
  encodeTelegram(new Telegram('Msg', { _Ch: 7, XferId: 'pwned', Len: 6 })),
  Buffer.from('forged'),
]);
/** Metadata that is not a params block (a key with a space in front: not a valid key). */
const NOT_PARAMS = Buffer.from(' bad key\n\n');

/** Receives with a deadline; returns the message or the MsgError. */
function recvOne(conn: Connection, storeq: StoreQ): Promise<Msg | MsgError> {
  const received = recv(conn, { storeq }).catch((err: unknown) => {
    if (err instanceof MsgError) return err;
    throw err;
  });
  return within(received, DEADLINE_MS, 'the next message at the subscriber');
}

function payloadText(m: Msg | MsgError): string {
  assert.ok(
    !(m instanceof MsgError),
    `expected a message, got: ${m instanceof Error && m.message}`,
  );
  assert.equal(m.payload?.kind, 'bytes');
  return (m.payload as { bytes: Buffer }).bytes.toString();
}

describe('a message that cannot be received as asked', () => {
  it('is skipped whole: a payload that looks like a telegram is never read as one', async () => {
    const sub = await subscriber(42);
    const out = await connection(sim.sender.msgif, ATTACKER);
    await send(out, { ch: 42, cmd: 9, meta: NOT_PARAMS, payload: FORGED });
    await send(out, { ch: 42, payload: 'honest' });
    const storeq: StoreQ = () => ({ meta: 'params', payload: 'bytes' });

    const first = await recvOne(sub, storeq);
    assert.ok(first instanceof MsgError, 'the message with bad metadata was not refused');
    assert.equal(first.code, 'BAD_INPUT');
    assert.equal(first.skipped, true);
    assert.equal(first.cmd, 9);
    assert.equal(first.ch, '42');
    assert.match(first.xferId ?? '', /^[0-9a-f-]{36}$/);
    assert.match(first.message, /metadata is not a valid params block/);
    assert.equal(sub.isClosed, false);

    const second = await recvOne(sub, () => 'bytes');
    assert.equal(payloadText(second), 'honest', 'the next message is the one that was sent');
    assert.notEqual((second as Msg).xferId, 'pwned');
  });

  it('is skipped when storeq throws, and when it chooses an unknown store', async () => {
    const sub = await subscriber(43);
    const out = await connection(sim.sender.msgif);
    for (const text of ['one', 'two', 'three']) await send(out, { ch: 43, payload: text });
    const thrown = await recvOne(sub, () => {
      throw new Error('storeq failed');
    });
    assert.ok(thrown instanceof MsgError && thrown.skipped);
    assert.match(thrown.message, /storeq failed/);
    const unknown = await recvOne(sub, () => 'file' as never);
    assert.ok(unknown instanceof MsgError && unknown.skipped);
    assert.equal(unknown.code, 'BAD_PARAMS');
    assert.equal(payloadText(await recvOne(sub, () => 'bytes')), 'three');
  });

  it('refuses one file for both parts before reading them, and two equal paths', async () => {
    const sub = await subscriber(44);
    const out = await connection(sim.sender.msgif);
    const file = join(dir, 'both');
    await send(out, { ch: 44, meta: 'meta', payload: 'payload' });
    await send(out, { ch: 44, meta: 'meta', payload: 'payload' });
    await send(out, { ch: 44, payload: 'payload only' });
    const one = await recvOne(sub, () => ({ file }));
    assert.ok(one instanceof MsgError && one.skipped);
    assert.equal(one.code, 'BAD_PARAMS');
    assert.match(one.message, /two paths/);
    const same = await recvOne(sub, () => ({ meta: { file }, payload: { file: `${dir}/./both` } }));
    assert.ok(same instanceof MsgError && same.skipped);
    assert.equal(same.code, 'BAD_PARAMS');
    assert.deepEqual(await readdir(dir), [], 'nothing was written for the refused messages');
    const only = await recvOne(sub, () => ({ file }));
    assert.ok(!(only instanceof MsgError));
    assert.deepEqual(only.payload, { kind: 'file', path: file });
    await rm(file);
  });

  it("refuses 'bytes' over maxBuffered, naming the limit and the way out", async () => {
    const sub = await subscriber(45);
    const out = await connection(sim.sender.msgif);
    await send(out, { ch: 45, payload: Buffer.alloc(5000, 1) });
    await send(out, { ch: 45, payload: 'small' });
    const big = await within(
      recv(sub, { storeq: () => 'bytes', maxBuffered: 4096 }).catch((e: unknown) => e),
      DEADLINE_MS,
      'the refused message',
    );
    assert.ok(big instanceof MsgError && big.skipped, String(big));
    assert.equal(big.code, 'BAD_PARAMS');
    assert.match(big.message, /5000-byte payload is over the 4096-byte limit.*maxBuffered/);
    assert.match(big.message, /\{ file \} or 'stream'/);
    assert.equal(payloadText(await recvOne(sub, () => 'bytes')), 'small');
    for (const maxBuffered of [0, 2 ** 40, 1.5]) {
      await assert.rejects(recv(sub, { maxBuffered }), { code: 'BAD_PARAMS' });
    }
    assert.equal(sub.isClosed, false, 'a bad maxBuffered reads nothing');
  });

  it('is skipped when its file cannot be written, leaving no partial file', async () => {
    const sub = await subscriber(46);
    const out = await connection(sim.sender.msgif);
    const target = join(dir, 'is-a-folder');
    await mkdir(target);
    await send(out, { ch: 46, payload: Buffer.alloc(100_000, 2) });
    await send(out, { ch: 46, payload: Buffer.alloc(100_000, 3) });
    await send(out, { ch: 46, payload: 'after' });
    const missing = await recvOne(sub, () => ({ file: join(dir, 'no-such-folder', 'x') }));
    assert.ok(missing instanceof MsgError && missing.skipped);
    assert.equal(missing.code, 'IO');
    const rename = await recvOne(sub, () => ({ file: target }));
    assert.ok(rename instanceof MsgError && rename.skipped, 'storing over a folder succeeded');
    assert.equal(rename.code, 'IO');
    assert.deepEqual(await readdir(dir), ['is-a-folder'], 'a partial file was left');
    assert.deepEqual(await readdir(target), []);
    assert.equal(payloadText(await recvOne(sub, () => 'bytes')), 'after');
    await rm(target, { recursive: true });
  });
});

describe('receive loops go on after a skipped message', () => {
  it('messages() reports it to onSkipped with a count and yields every other message', async () => {
    const sub = await subscriber(47);
    const out = await connection(sim.sender.msgif);
    for (let i = 1; i <= 5; i++) {
      await send(out, { ch: 47, cmd: i, meta: i === 2 ? NOT_PARAMS : 'k v\n\n', payload: FORGED });
    }
    const skipped: [MsgError, number][] = [];
    const cmds: number[] = [];
    const loop = (async () => {
      const options = {
        storeq: () => ({ meta: 'params' as const, payload: 'bytes' as const }),
        onSkipped: (err: MsgError, n: number) => skipped.push([err, n]),
      };
      for await (const m of messages(sub, options)) {
        cmds.push(m.cmd);
        if (cmds.length === 4) break;
      }
    })();
    await within(loop, DEADLINE_MS, 'four good messages out of five');
    assert.deepEqual(cmds, [1, 3, 4, 5]);
    assert.equal(skipped.length, 1);
    assert.equal(skipped[0]?.[0].cmd, 2);
    assert.equal(skipped[0]?.[1], 1);
    assert.equal(sub.isClosed, false);
  });

  it('subscription() with a file store and no folder reports each message and never resubscribes', async () => {
    const out = await connection(sim.sender.msgif);
    const statuses: SubscriptionStatus[] = [];
    const received: number[] = [];
    const ac = new AbortController();
    const missing = join(dir, 'in');
    let onSubscribed = () => {};
    const subscribed = new Promise<void>((resolve) => {
      onSubscribed = resolve;
    });
    const loop = (async () => {
      for await (const m of subscription(sim.receiver.subif, {
        ch: 48,
        auth: APP,
        signal: ac.signal,
        onStatus: (s) => {
          statuses.push(s);
          if (s.type === 'subscribed') onSubscribed();
        },
        storeq: (info) => (info.cmd % 2 ? { file: join(missing, `${info.xferId}`) } : 'bytes'),
      })) {
        received.push(m.cmd);
        if (received.length === 2) ac.abort();
      }
    })();
    await within(subscribed, DEADLINE_MS, 'the subscription');
    for (let cmd = 1; cmd <= 4; cmd++) await send(out, { ch: 48, cmd, payload: `m${cmd}` });
    await within(loop, DEADLINE_MS, 'the two messages that can be stored');
    assert.deepEqual(received, [2, 4]);
    const skipped = statuses.filter((s) => s.type === 'skipped');
    assert.deepEqual(
      skipped.map((s) => [s.error.cmd, s.error.code, s.skipped]),
      [
        [1, 'IO', 1],
        [3, 'IO', 2],
      ],
    );
    assert.deepEqual(
      statuses.map((s) => s.type),
      ['subscribed', 'skipped', 'skipped'],
    );
  });
});
