/**
 * Messages end to end through the simulator: send on the sender node, across
 * the one-way link, received by subscribers of the receiver node. Every
 * input type and store choice, with sha-256 comparison.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { KVLines, Params } from '../../src/blather/index.ts';
import type { Connection } from '../../src/conn/index.ts';
import { DdmwError } from '../../src/err.ts';
import { connsend, type Msg, messages, recv, send, subscribe } from '../../src/msg/index.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { closedAfterFile } from '../helpers/closed-after.ts';
import { within } from '../helpers/deadline.ts';
import { rejectsCode } from '../helpers/errors.ts';
import { sha } from '../helpers/sha.ts';

const APP = { name: 'app', pass: 'app-pass' };
let sim: Simulator;
let dir: string;
const files = closedAfterFile();

const sender = () => files.open(sim.sender.msgif, { auth: APP });

async function subscriber(ch: number | string): Promise<Connection> {
  const c = await files.open(sim.receiver.subif, { auth: APP });
  await subscribe(c, ch);
  return c;
}

async function shaStream(s: Readable): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of s) h.update(chunk as Buffer);
  return h.digest('hex');
}
const shaFile = (path: string) => shaStream(createReadStream(path));
function bytesOf(m: Msg, part: 'meta' | 'payload'): Buffer {
  const p = m[part];
  assert.equal(p?.kind, 'bytes');
  return (p as { bytes: Buffer }).bytes;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ddmw-msg-'));
  sim = await startSimulator({ accounts: [{ ...APP, perms: ['*'] }] });
});
after(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

describe('round trips', () => {
  it('buffers of many sizes, with and without metadata, default store', async () => {
    const out = await sender();
    const sub = await subscriber(1);
    const sizes = [0, 1, 100, 63 * 1024, 64 * 1024, 64 * 1024 + 1, 1024 * 1024 + 7];
    for (const size of sizes) {
      const payload = randomBytes(size);
      const cases: { meta?: Buffer; payload?: Buffer }[] = [
        { payload },
        { meta: Buffer.from(`meta-${size}`), payload },
        { meta: payload },
      ];
      for (const c of cases) {
        const xferId = await send(out, { ch: 1, cmd: size % 1000, ...c });
        const m = await recv(sub);
        assert.equal(m.xferId, xferId);
        assert.equal(m.cmd, size % 1000);
        assert.equal(m.ch, '1');
        assert.equal(m.metaLen, c.meta?.length ?? 0);
        assert.equal(m.payloadLen, c.payload?.length ?? 0);
        if (c.meta && c.meta.length > 0) assert.equal(sha(bytesOf(m, 'meta')), sha(c.meta));
        else assert.equal(m.meta, undefined);
        if (c.payload && c.payload.length > 0)
          assert.equal(sha(bytesOf(m, 'payload')), sha(c.payload));
        else assert.equal(m.payload, undefined);
      }
    }
  });

  it('an empty message (no metadata, no payload)', async () => {
    const out = await sender();
    const sub = await subscriber('empty-ch');
    await send(out, { ch: 'empty-ch', cmd: 3 });
    const m = await recv(sub);
    assert.deepEqual(
      [m.cmd, m.metaLen, m.payloadLen, m.meta, m.payload],
      [3, 0, 0, undefined, undefined],
    );
  });

  it('Params and KVLines metadata, string and stream payloads, params/kvlines stores', async () => {
    const out = await sender();
    const sub = await subscriber(2);
    const meta = new Params({ filename: 'a.txt', size: 5 });
    await send(out, { ch: 2, meta, payload: 'hello' });
    let m = await recv(sub, { storeq: () => ({ meta: 'params', payload: 'bytes' }) });
    assert.equal(m.meta?.kind === 'params' && m.meta.params.get('filename'), 'a.txt');
    assert.equal(bytesOf(m, 'payload').toString(), 'hello');

    const kv = new KVLines().append('tag', 'a').append('tag', 'b');
    const data = randomBytes(300_000);
    await send(out, {
      ch: 2,
      meta: kv,
      payload: {
        stream: Readable.from([data.subarray(0, 1000), data.subarray(1000)]),
        length: data.length,
      },
    });
    m = await recv(sub, { storeq: () => ({ meta: 'kvlines', payload: 'stream' }) });
    assert.deepEqual(m.meta?.kind === 'kvlines' && m.meta.kvlines.getAll('tag'), ['a', 'b']);
    assert.equal(m.payload?.kind, 'stream');
    assert.equal(await shaStream((m.payload as { stream: Readable }).stream), sha(data));
  });

  // 130 MiB: more than the link's receiving end keeps in memory (128 MiB), so the
  // message crosses to a spool file there and is written out from it.
  it('a 130 MiB file to a file, and none/skip keeps the connection in step', async () => {
    const src = join(dir, 'big.bin');
    const chunk = randomBytes(1024 * 1024);
    const parts: Buffer[] = [];
    for (let i = 0; i < 130; i++)
      parts.push(Buffer.concat([chunk.subarray(i), chunk.subarray(0, i)]));
    await writeFile(src, Buffer.concat(parts));
    const out = await sender();
    const sub = await subscriber(3);
    await send(out, { ch: 3, meta: new Params({ name: 'big.bin' }), payload: { file: src } });
    await send(out, { ch: 3, payload: 'after' });
    const target = join(dir, 'received.bin');
    const m = await recv(sub, { storeq: () => ({ meta: 'none', payload: { file: target } }) });
    assert.deepEqual(m.payload, { kind: 'file', path: target });
    assert.equal(m.meta, undefined);
    assert.equal((await stat(target)).size, 130 * 1024 * 1024);
    assert.equal(await shaFile(target), await shaFile(src));
    assert.equal(bytesOf(await recv(sub), 'payload').toString(), 'after');
    assert.deepEqual((await readdir(dir)).sort(), ['big.bin', 'received.bin']);
    await rm(src);
    await rm(target);
  });

  it('connsend connects, sends and closes', async () => {
    const sub = await subscriber(4);
    const xferId = await connsend(sim.sender.msgif, APP, { ch: 4 }, { payload: 'via connsend' });
    const m = await recv(sub);
    assert.equal(m.xferId, xferId);
  });
});

describe('subscribers', () => {
  it('every subscriber of a channel gets each message; other channels get none', async () => {
    const out = await sender();
    const subs = await Promise.all([1, 2, 3, 4, 5].map(() => subscriber('fanout')));
    const other = await subscriber('elsewhere');
    const payload = randomBytes(200_000);
    await send(out, { ch: 'fanout', payload });
    await send(out, { ch: 'elsewhere', payload: 'marker' });
    for (const s of subs) assert.equal(sha(bytesOf(await recv(s), 'payload')), sha(payload));
    assert.equal(bytesOf(await recv(other), 'payload').toString(), 'marker');
  });

  it('a subscriber that disconnects mid-message does not disturb the others', async () => {
    const out = await sender();
    const quitter = await subscriber('quit');
    const stayer = await subscriber('quit');
    const payload = randomBytes(8 * 1024 * 1024);
    await send(out, { ch: 'quit', payload });
    const m = await recv(quitter, { storeq: () => 'stream' });
    const stream = (m.payload as { stream: Readable }).stream;
    await new Promise((resolve) => stream.once('data', resolve));
    stream.on('error', () => {}); // closing the connection fails the half-read stream
    await quitter.close();
    assert.equal(sha(bytesOf(await recv(stayer), 'payload')), sha(payload));
    await send(out, { ch: 'quit', payload: 'next' });
    assert.equal(bytesOf(await recv(stayer), 'payload').toString(), 'next');
  });

  it('the default store refuses a part over its limit, skips it, and stays in step', async () => {
    const out = await sender();
    const sub = await subscriber('limit');
    await send(out, { ch: 'limit', payload: randomBytes(5000) });
    await send(out, { ch: 'limit', payload: 'small' });
    await rejectsCode(recv(sub, { maxBuffered: 4096 }), 'BAD_PARAMS');
    assert.equal(bytesOf(await recv(sub, { maxBuffered: 4096 }), 'payload').toString(), 'small');
  });

  it('messages() iterates, and aborting ends the loop quietly and closes the connection', async () => {
    const out = await sender();
    const sub = await subscriber('iter');
    for (let i = 0; i < 3; i++) await send(out, { ch: 'iter', payload: `m${i}` });
    const ac = new AbortController();
    const seen: string[] = [];
    const loop = (async () => {
      for await (const m of messages(sub, { signal: ac.signal })) {
        seen.push(bytesOf(m, 'payload').toString());
        if (seen.length === 3) setImmediate(() => ac.abort()); // abort while waiting for a 4th
      }
    })();
    await within(loop, 20_000, 'three messages, then the end of the aborted loop');
    assert.deepEqual(seen, ['m0', 'm1', 'm2']);
    await within(sub.closed, 10_000, 'the aborted subscriber connection to close');
  });
});

describe('refusals', () => {
  it('unauthenticated senders and subscribers are refused; the connections stay usable', async () => {
    const anon = await files.open(sim.sender.msgif);
    await rejectsCode(send(anon, { ch: 1, payload: 'x' }), 'SERVER_ERROR');
    await rejectsCode(send(anon, { ch: 1, payload: 'x' }), 'SERVER_ERROR');
    const anonSub = await files.open(sim.receiver.subif);
    await rejectsCode(subscribe(anonSub, 1), 'SERVER_ERROR');
  });
  it('invalid channels and commands are refused before anything is sent', async () => {
    const out = await sender();
    for (const ch of [256, -1, '', 'a\nb']) {
      await rejectsCode(send(out, { ch, payload: 'x' }), 'BAD_INPUT');
    }
    await rejectsCode(send(out, { ch: 1, cmd: -1 }), 'BAD_INPUT');
    await rejectsCode(send(out, { ch: 1, payload: { file: join(dir, 'missing') } }), 'IO');
    const sub = await subscriber(9);
    await send(out, { ch: 9, payload: 'still fine' });
    assert.equal(bytesOf(await recv(sub), 'payload').toString(), 'still fine');
  });
  it('a stream shorter than announced aborts the transfer and closes the connection', async () => {
    const out = await sender();
    const err = await send(out, {
      ch: 1,
      payload: { stream: Readable.from([Buffer.from('abc')]), length: 10 },
    }).catch((e) => e);
    assert.ok(err instanceof DdmwError && err.code === 'BAD_INPUT', String(err));
    await within(out.closed, 10_000, 'the connection of the short stream to close');
  });
  it('aborting a send closes the connection with ABORTED', async () => {
    const out = await sender();
    const ac = new AbortController();
    const slow = new Readable({ read() {} });
    slow.push(Buffer.alloc(1000));
    const pending = send(
      out,
      { ch: 1, payload: { stream: slow, length: 10_000 } },
      { signal: ac.signal },
    );
    setTimeout(() => ac.abort(), 50);
    await rejectsCode(pending, 'ABORTED', 10_000);
    await within(out.closed, 10_000, 'the connection of the aborted send to close');
  });
});

describe('load', () => {
  it('20 connections x 100 messages: none lost, none corrupted', async () => {
    const sub = await subscriber('load');
    const senders = await Promise.all(Array.from({ length: 20 }, () => sender()));
    await Promise.all(
      senders.map(async (c, ci) => {
        for (let i = 0; i < 100; i++) {
          const payload = randomBytes(100 + ((ci * 100 + i) % 4000));
          // The metadata carries the payload's hash, checked on arrival.
          await send(c, { ch: 'load', cmd: ci, meta: sha(payload), payload });
        }
      }),
    );
    const ids = new Set<string>();
    let received = 0;
    for await (const m of messages(sub)) {
      assert.equal(sha(bytesOf(m, 'payload')), bytesOf(m, 'meta').toString());
      ids.add(m.xferId as string);
      if (++received === 2000) break;
    }
    assert.equal(ids.size, 2000, 'every transfer id once');
  });
});

describe('temporary files', () => {
  it('none are left in the receive folder', async () => {
    const left = (await readdir(dir)).filter((f) => f.endsWith('.part'));
    assert.deepEqual(left, []);
  });
});
