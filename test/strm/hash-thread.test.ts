/**
 * The sha-256 of received streams, computed in the hashing thread: the
 * digest of any split of the bytes, pieces copied before `update` returns,
 * a stream held back while its batches are away, the integrity check a
 * subscriber makes with it (against a scripted receiver node), and a
 * thread that stops: the streams under way fail with IO, later ones are
 * hashed in the calling thread. A digest is never lost to the process
 * exiting, and the thread holds the process only while it owes an answer.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { encodeTelegram, Telegram } from '../../src/blather/index.ts';
import { recv, subscribe } from '../../src/msg/index.ts';
import {
  hashThreadReady,
  type StreamHasher,
  stopHashThread,
  streamHasher,
} from '../../src/strm/hash-thread.ts';
import { killedAfterEach, TestChild } from '../helpers/child.ts';
import { closedAfterFile } from '../helpers/closed-after.ts';
import { waitFor, within } from '../helpers/deadline.ts';
import { rejectsCode } from '../helpers/errors.ts';
import type { FakeConn } from '../helpers/fake-server.ts';
import { sha } from '../helpers/sha.ts';

const files = closedAfterFile();
const MiB = 1024 * 1024;

/** Adds `pieces` in order, waiting whenever the hasher says so. */
async function feed(hasher: StreamHasher, pieces: Uint8Array[]): Promise<void> {
  for (const piece of pieces) {
    const wait = hasher.update(piece);
    if (wait) await within(wait, 10_000, 'a batch back from the hashing thread');
  }
}

/** `bytes` cut into pieces of the given sizes, in turn. */
function cut(bytes: Buffer, sizes: number[]): Buffer[] {
  const pieces: Buffer[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = sizes[i % sizes.length] as number;
    pieces.push(bytes.subarray(at, at + n));
    at += n;
  }
  return pieces;
}

// The first stream of a process is hashed in place while the thread loads; these tests need the thread.
before(async () => assert.ok(await within(hashThreadReady(), 30_000, 'the hashing thread')));

describe('the stream hasher', () => {
  it('gives the sha-256 of the bytes, however they are split', async () => {
    const bytes = randomBytes(5 * MiB + 12_345);
    const cases: [Buffer, number[]][] = [
      [bytes, [bytes.length]],
      [bytes, [MiB]],
      [bytes, [MiB - 1, 2]],
      [bytes, [65_536, 0, 3 * MiB]],
      [bytes, [777]],
      [bytes.subarray(0, 5000), [1]],
    ];
    for (const [data, sizes] of cases) {
      const hasher = streamHasher();
      await feed(hasher, cut(data, sizes));
      const digest = await within(hasher.digest(), 10_000, 'the digest');
      assert.equal(digest, sha(data), `${data.length} bytes in pieces of ${sizes}`);
      assert.equal(await within(hasher.digest(), 10_000, 'the digest again'), digest);
    }
    assert.equal(await streamHasher().digest(), sha(), 'no bytes at all');
  });

  it('copies each piece before update returns: changing it afterwards changes nothing', async () => {
    const bytes = randomBytes(3 * MiB);
    const want = sha(bytes);
    const hasher = streamHasher();
    for (const piece of cut(Buffer.from(bytes), [300_000])) {
      const wait = hasher.update(piece);
      piece.fill(0); // what a consumer of the stream may do with its chunk
      if (wait) await within(wait, 10_000, 'a batch back from the hashing thread');
    }
    assert.equal(await within(hasher.digest(), 10_000, 'the digest'), want);
  });

  it('holds a stream back while three batches are away, and lets it go on as they come back', async () => {
    const hasher = streamHasher();
    const piece = Buffer.alloc(MiB, 7);
    const waits = [1, 2, 3, 4].map(() => hasher.update(piece));
    assert.deepEqual(
      waits.map((w) => w !== undefined),
      [false, false, true, true],
      'the third full batch away asks to wait',
    );
    for (const w of waits) if (w) await within(w, 10_000, 'the batches back from the thread');
    const want = createHash('sha256');
    for (let i = 0; i < 4; i++) want.update(piece);
    assert.equal(await within(hasher.digest(), 10_000, 'the digest'), want.digest('hex'));
  });
});

/** A receiver node that pushes one stream of `data` ending with `digest`, then waits. */
function pushing(data: Buffer, digest: string) {
  return async ({ socket, reader }: FakeConn) => {
    const sub = await reader.nextTelegram(); // Sub
    if (!sub) return;
    socket.write(encodeTelegram(new Telegram('Ok')));
    socket.write(encodeTelegram(new Telegram('Strm', { _Ch: 7, XferId: 'x-1', Cmd: 0 })));
    for (const piece of cut(data, [100_000])) {
      socket.write(encodeTelegram(new Telegram('Chunk', { Len: piece.length })));
      socket.write(piece);
    }
    socket.write(encodeTelegram(new Telegram('StrmEnd', { Len: data.length, Sha256: digest })));
    await new Promise((resolve) => socket.once('close', resolve));
  };
}

/** Subscribes to the fake node and reads the stream it pushes: its bytes, or its error. */
async function receive(script: (conn: FakeConn) => Promise<void>) {
  const fake = await files.fake(script);
  const conn = await files.open(fake.addr);
  await subscribe(conn, 7);
  const item = await within(recv(conn, { streams: true }), 10_000, 'the stream');
  assert.equal(item.kind, 'stream');
  if (item.kind !== 'stream') throw new Error('not a stream');
  const chunks: Buffer[] = [];
  const reading = (async () => {
    for await (const c of item.stream) chunks.push(c as Buffer);
  })();
  return { reading, chunks, conn };
}

describe('the integrity check of a received stream', () => {
  it('the bytes arrive when the node sends their sha-256', async () => {
    const data = randomBytes(2 * MiB + 3);
    const { reading, chunks } = await receive(pushing(data, sha(data).toUpperCase()));
    await within(reading, 10_000, 'the end of the stream');
    assert.ok(Buffer.concat(chunks).equals(data));
  });

  it('another sha-256 fails the stream with IO, and the connection stays in step', async () => {
    const data = randomBytes(MiB);
    const { reading, conn } = await receive(pushing(data, sha(Buffer.from('other'))));
    await rejectsCode(reading, 'IO').then((err) =>
      assert.match(err.message, /failed its integrity check: 1048576 bytes with sha-256 /),
    );
    assert.equal(conn.isClosed, false);
  });
});

describe('the hashing thread and the event loop', () => {
  /** Active message ports: the thread's counts while it keeps the process alive. */
  const ports = () => process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length;

  it('holds the process only while it owes an answer', async () => {
    const idle = ports();
    const hasher = streamHasher();
    assert.equal(ports(), idle, 'a stream it owes nothing to holds nothing');
    hasher.update(Buffer.alloc(MiB, 1)); // a full batch goes to the thread
    assert.equal(ports(), idle + 1, 'a batch away holds the process');
    await within(hasher.digest(), 10_000, 'the digest');
    assert.equal(ports(), idle, 'the digest answered, nothing holds it');
  });

  it('a stream the application abandoned holds nothing once its batches are back', async () => {
    const idle = ports();
    const abandoned = streamHasher();
    abandoned.update(Buffer.alloc(2 * MiB + 5, 2)); // neither digested nor dropped, ever
    assert.equal(ports(), idle + 1);
    await waitFor('the batches back from the thread', () => ports() === idle, 10_000);
  });
});

describe('a hashing thread that stops', () => {
  it('fails the streams it was hashing with IO; later streams are hashed here', async () => {
    const under = streamHasher();
    await feed(under, [randomBytes(2 * MiB)]);
    await within(stopHashThread(), 10_000, 'the thread to stop');
    const err = await rejectsCode(under.digest(), 'IO');
    assert.match(err.message, /hashing thread stopped/);
    const later = streamHasher();
    const bytes = randomBytes(3 * MiB);
    await feed(later, [bytes]);
    assert.equal(await within(later.digest(), 10_000, 'the digest'), sha(bytes));
  });
});

describe('the hashing thread and the process', () => {
  const killed = killedAfterEach();
  /** Runs hash-exit-child.ts in `mode`: it must print the digest of 4 MiB of 'a', then exit. */
  async function digestThenExit(mode: 'first' | 'thread', name: string) {
    const child = killed(
      new TestChild(
        name,
        process.execPath,
        ['--import', 'tsx', join(import.meta.dirname, 'hash-exit-child.ts'), mode],
        process.env,
      ),
    );
    const want = createHash('sha256')
      .update(Buffer.alloc(4 * MiB, 0x61))
      .digest('hex');
    await child.waitFor('stdout', new RegExp(`^ok ${want}$`, 'm'), 'the digest');
    assert.deepEqual(await child.exited(30_000), { code: 0, signal: null }, child.stderr);
  }

  it('a digest still comes when nothing else is left; then the process exits', async () => {
    await digestThenExit('thread', 'a process waiting for a digest only');
  });

  it('a thread started by the first stream, and never used, lets the process exit', async () => {
    await digestThenExit('first', 'a process that received one stream');
  });
});
