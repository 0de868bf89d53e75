/**
 * Streams end to end through the simulator: `strm.open` on the sender node,
 * chunk by chunk across the one-way link, received between messages by
 * subscribers of the receiver node.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Connection } from '../../src/conn/index.ts';
import { DdmwError } from '../../src/err.ts';
import { type Msg, messages, recv, send, subscribe } from '../../src/msg/index.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { open, READ_AHEAD, type StreamEvent, type StreamWriter } from '../../src/strm/index.ts';
import { closedAfterFile } from '../helpers/closed-after.ts';
import { waitFor, within } from '../helpers/deadline.ts';

const APP = { name: 'app', pass: 'app-pass' };
const SENDONLY = { name: 'narrow', pass: 'narrow-pass' };
const MiB = 1024 * 1024;
const QUEUE_LIMIT_BYTES = 64 * MiB;
let sim: Simulator;
const files = closedAfterFile();

const sender = (on = sim) => files.open(on.sender.msgif, { auth: APP });

async function subscriber(ch: number | string, on = sim): Promise<Connection> {
  const c = await files.open(on.receiver.subif, { auth: APP });
  await subscribe(c, ch);
  return c;
}

async function nextStream(sub: Connection): Promise<StreamEvent> {
  const item = await recv(sub, { streams: true });
  assert.equal(item.kind, 'stream');
  return item as StreamEvent;
}

function payloadText(item: Msg | StreamEvent): string {
  assert.equal(item.kind, 'msg');
  const p = (item as Msg).payload;
  assert.equal(p?.kind, 'bytes');
  return (p as { bytes: Buffer }).bytes.toString();
}

async function readAll(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of s) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** Writes with backpressure; counts how often write() asked to wait. */
async function write(w: StreamWriter, chunk: Buffer): Promise<boolean> {
  if (w.write(chunk)) return false;
  await once(w, 'drain');
  return true;
}

async function finish(w: StreamWriter): Promise<void> {
  w.end();
  await once(w, 'finish');
}

before(async () => {
  sim = await startSimulator({
    accounts: [
      { ...APP, perms: ['*'] },
      { ...SENDONLY, perms: ['send:9'] },
    ],
    // A subscriber that stops reading is dropped once this much of a stream waits for it.
    queueLimitBytes: QUEUE_LIMIT_BYTES,
  });
});
after(async () => {
  await sim.close();
});

describe('strm', () => {
  it('sends a 0-byte stream', async () => {
    const sub = await subscriber(1);
    const w = open(await sender(), { ch: 1 });
    const xferId = await w.opened;
    await finish(w);
    assert.equal(w.length, 0);
    const ev = await nextStream(sub);
    assert.equal(ev.xferId, xferId);
    assert.equal(ev.ch, '1');
    assert.equal(ev.cmd, 0);
    assert.equal((await readAll(ev.stream)).length, 0);
  });

  it('sends a small stream with a command number', async () => {
    const sub = await subscriber(2);
    const w = open(await sender(), { ch: 2, cmd: 7 });
    w.write('hello ');
    w.write(Buffer.from('world'));
    await finish(w);
    assert.equal(w.length, 11);
    const ev = await nextStream(sub);
    assert.equal(ev.cmd, 7);
    assert.equal(ev.xferId, w.xferId);
    assert.equal((await readAll(ev.stream)).toString(), 'hello world');
  });

  it('carries 200 MiB in random-size chunks, read while it is written', async (t) => {
    const total = 200 * MiB;
    // Nothing across the diode slows the writer down for a slow reader: on a busy machine the
    // reader may fall behind by much of the stream. Its own node takes the whole stream (the
    // drop rule has its own test below).
    const roomy = await startSimulator({
      accounts: [{ ...APP, perms: ['*'] }],
      queueLimitBytes: 2 * total,
    });
    t.after(() => roomy.close());
    const sub = await subscriber(3, roomy);
    const w = open(await sender(roomy), { ch: 3 });
    let endCalled = false;
    let firstBeforeEnd: boolean | undefined;
    const received = nextStream(sub).then(async (ev) => {
      const h = createHash('sha256');
      let n = 0;
      for await (const chunk of ev.stream) {
        firstBeforeEnd ??= !endCalled;
        h.update(chunk as Buffer);
        n += (chunk as Buffer).length;
      }
      return { n, sha: h.digest('hex') };
    });
    const pool = randomBytes(4 * MiB);
    const h = createHash('sha256');
    let sent = 0;
    let waits = 0;
    while (sent < total) {
      const size = Math.min(total - sent, 1 + Math.floor(Math.random() * 512 * 1024));
      const at = Math.floor(Math.random() * (pool.length - size));
      const chunk = pool.subarray(at, at + size);
      h.update(chunk);
      sent += size;
      if (await write(w, chunk)) waits++;
    }
    endCalled = true;
    await within(finish(w), 60_000, 'the end of the 200 MiB stream acknowledged');
    const got = await within(received, 60_000, 'the 200 MiB stream read to its end');
    assert.equal(firstBeforeEnd, true, 'the receiver read before the writer ended');
    assert.ok(waits > 0, 'the writer was held back');
    assert.equal(w.length, total);
    assert.equal(got.n, total);
    assert.equal(got.sha, h.digest('hex'));
  });

  it('aborts: the reader gets an error, not a truncated success; both connections go on', async () => {
    const sub = await subscriber(4);
    const conn = await sender();
    const w = open(conn, { ch: 4 });
    const ev = nextStream(sub);
    await write(w, randomBytes(MiB));
    const errored = once(w, 'error');
    const reading = ev.then((e) => readAll(e.stream));
    reading.catch(() => {}); // checked below
    await within(ev, 20_000, 'the start of the stream at the subscriber');
    w.destroy(new Error('camera\nunplugged'));
    const [werr] = await within(errored, 10_000, "the writer's error");
    assert.match((werr as Error).message, /camera/);
    await assert.rejects(
      within(reading, 20_000, 'the end of the aborted stream'),
      (err: unknown) => {
        assert.ok(err instanceof DdmwError);
        assert.equal(err.code, 'ABORTED');
        assert.match(err.message, /camera unplugged/);
        return true;
      },
    );
    await send(conn, { ch: 4, payload: 'after abort' });
    assert.equal(payloadText(await recv(sub, { streams: true })), 'after abort');
  });

  it('a slow reader gets backpressure and bounded buffers', async () => {
    const total = 12 * MiB;
    const sub = await subscriber(5);
    const w = open(await sender(), { ch: 5 });
    let maxBuffered = 0;
    const received = nextStream(sub).then(async (ev) => {
      const h = createHash('sha256');
      for await (const chunk of ev.stream) {
        maxBuffered = Math.max(maxBuffered, ev.stream.readableLength);
        h.update(chunk as Buffer);
        await sleep(1);
      }
      return h.digest('hex');
    });
    const h = createHash('sha256');
    let waits = 0;
    for (let sent = 0; sent < total; sent += 256 * 1024) {
      const chunk = randomBytes(256 * 1024);
      h.update(chunk);
      if (await write(w, chunk)) waits++;
    }
    await finish(w);
    assert.equal(await received, h.digest('hex'));
    assert.ok(waits > 0);
    assert.ok(maxBuffered <= READ_AHEAD + 256 * 1024, `reader buffered ${maxBuffered} bytes`);
  });

  it('drops a subscriber that stops reading: its stream fails', async () => {
    const sub = await subscriber(6);
    const w = open(await sender(), { ch: 6 });
    const ev = await (async () => {
      const pending = nextStream(sub);
      await write(w, randomBytes(64 * 1024));
      return pending;
    })();
    const dropped = sim.stats().slowSubscribersDropped;
    const chunk = randomBytes(MiB);
    for (let i = 0; i < QUEUE_LIMIT_BYTES / MiB + 16; i++) await write(w, chunk);
    await finish(w); // the link has no back channel: the writer completes anyway
    // The link itself holds tens of MiB: read only once the node has found the subscriber too slow.
    await waitFor(
      'the receiver node dropping the subscriber that stopped reading',
      () => sim.stats().slowSubscribersDropped > dropped,
      30_000,
    );
    await assert.rejects(readAll(ev.stream), (err: unknown) => {
      assert.ok(err instanceof DdmwError);
      assert.equal(err.code, 'ABORTED');
      assert.match(err.message, /too slow/);
      return true;
    });
  });

  it('messages before, during and after a stream all arrive, in order around it', async () => {
    const sub = await subscriber(7);
    const conn = await sender();
    const other = await sender();
    await send(conn, { ch: 7, payload: 'before' });
    const w = open(conn, { ch: 7 });
    await write(w, Buffer.from('stream-part-1 '));
    const items = messages(sub, { streams: true });
    assert.equal(payloadText((await items.next()).value as Msg), 'before');
    const ev = (await items.next()).value as StreamEvent;
    assert.equal(ev.kind, 'stream');
    const reader = ev.stream[Symbol.asyncIterator]();
    assert.equal(String((await reader.next()).value), 'stream-part-1 ');
    await send(other, { ch: 7, payload: 'during' });
    await write(w, Buffer.from('stream-part-2'));
    await finish(w);
    await send(conn, { ch: 7, payload: 'after' });
    const rest: Buffer[] = [];
    for (let r = await reader.next(); !r.done; r = await reader.next())
      rest.push(r.value as Buffer);
    assert.equal(Buffer.concat(rest).toString(), 'stream-part-2');
    assert.equal(payloadText((await items.next()).value as Msg), 'during');
    assert.equal(payloadText((await items.next()).value as Msg), 'after');
    await items.return(undefined);
  });

  it('without streams: true a stream is skipped and reported; the connection goes on', async () => {
    const sub = await subscriber(8);
    const conn = await sender();
    const w = open(conn, { ch: 8 });
    await write(w, Buffer.from('unwanted'));
    await finish(w);
    await send(conn, { ch: 8, payload: 'wanted' });
    await assert.rejects(recv(sub), (err: unknown) => {
      assert.ok(err instanceof DdmwError);
      assert.equal(err.code, 'BAD_PARAMS');
      return true;
    });
    const m = await recv(sub);
    assert.equal((m.payload as { bytes: Buffer }).bytes.toString(), 'wanted');
  });

  it('a refused stream is an error on the writer and a rejected opened', async () => {
    const conn = await files.open(sim.sender.msgif, { auth: SENDONLY });
    const w = open(conn, { ch: 10 });
    const [err] = await once(w, 'error');
    assert.equal((err as DdmwError).code, 'SERVER_ERROR');
    await assert.rejects(w.opened, /Permission denied/);
    const ok = open(conn, { ch: 9 });
    await finish(ok);
    assert.equal(ok.length, 0);
  });
});
