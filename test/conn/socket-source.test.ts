/**
 * `SocketSource` when bytes come while nobody reads: they are copied into
 * a queue, the socket is told to stop reading once 64 KiB are queued (the
 * rest waits in the kernel), and reading the queue back gives every byte
 * in order and starts the socket reading again. Over a real TCP socket.
 */
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { it } from 'node:test';
import { type SocketSource, socketSource } from '../../src/conn/socket-source.ts';
import { closedAfterFile } from '../helpers/closed-after.ts';
import { waitFor, within } from '../helpers/deadline.ts';

const QUEUE_LIMIT = 64 * 1024;
const files = closedAfterFile();

/** A socket source on a connection to `addr`, telling `onRead` each read's size and whether reading goes on. */
function spiedSource(
  addr: string,
  onRead: (bytes: number, more: boolean) => void,
): { source: SocketSource; socket: Socket } {
  const { source, onread } = socketSource();
  const socket = netConnect({
    host: '127.0.0.1',
    port: Number(addr.split(':')[1]),
    onread: {
      buffer: onread.buffer,
      callback: (nread, buf) => {
        const more = onread.callback(nread, buf as Buffer);
        onRead(nread, more);
        return more;
      },
    },
  });
  source.attach(socket);
  return { source, socket };
}

/** Reads `length` bytes from `source` (copying each chunk: it may be lent), within 20 s. */
async function readWhole(source: SocketSource, length: number): Promise<Buffer> {
  const received: Buffer[] = [];
  let got = 0;
  const readAll = async () => {
    while (got < length) {
      const chunk = await source.next();
      assert.ok(chunk, `the data ended after ${got} bytes`);
      received.push(Buffer.from(chunk));
      got += chunk.length;
    }
  };
  await within(readAll(), 20_000, 'all the data', () => `${got} of ${length} bytes`);
  return Buffer.concat(received);
}

it('queues up to 64 KiB unread, then stops reading; reading the queue back resumes it', async () => {
  const payload = Buffer.alloc(512 * 1024);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + (i >> 10)) & 0xff;
  // Sent in pieces, each once the test has seen the one before read: a small
  // one, one that fills the queue to exactly its limit, then the rest.
  const cuts = [1000, QUEUE_LIMIT, payload.length];
  const pieceRead: (() => void)[] = [];
  const readSoFar = cuts.map(
    (_, i) =>
      new Promise<void>((resolve) => {
        pieceRead[i] = resolve;
      }),
  );
  const server = await files.fake(async ({ socket }) => {
    let from = 0;
    for (const [i, cut] of cuts.entries()) {
      if (i > 0) await readSoFar[i - 1];
      socket.write(payload.subarray(from, cut));
      from = cut;
    }
  });
  /** Each read of the socket: its size, and whether the source asked for more. */
  const reads: { bytes: number; more: boolean }[] = [];
  const { source, socket } = spiedSource(server.addr, (bytes, more) => reads.push({ bytes, more }));
  files.defer(async () => {
    socket.destroy();
  });

  const readBytes = () => reads.reduce((sum, r) => sum + r.bytes, 0);
  await waitFor('the small first piece to be read', () => readBytes() === cuts[0]);
  assert.ok(
    reads.every((r) => r.more),
    'reading goes on below the limit',
  );
  pieceRead[0]?.();
  await waitFor('the queue to fill to its limit', () => readBytes() === QUEUE_LIMIT);
  assert.deepEqual(
    reads.map((r) => r.more),
    [...reads.slice(1).map(() => true), false],
    'reading stops exactly when the limit is reached',
  );
  pieceRead[1]?.();

  assert.ok((await readWhole(source, payload.length)).equals(payload), 'every byte, in order');
});

it('reads into 64 KiB while data comes in small pieces, into 1 MiB (kept) while full reads go to a waiting reader', () => {
  const { source, onread } = socketSource();
  /** A read of `n` bytes that a waiting reader takes (lent) and gives back. */
  const lentRead = (n: number, buf: Buffer) => {
    source.nextChunk(() => {});
    onread.callback(n, buf);
    source.release();
  };
  const small = onread.buffer();
  assert.equal(small.length, 64 * 1024, 'small replies: the 64 KiB buffer');
  lentRead(1000, small);
  assert.equal(onread.buffer(), small, 'a short read keeps the small buffer');
  lentRead(small.length, small);
  const large = onread.buffer();
  assert.equal(large.length, 1024 * 1024, 'a full read: bulk data, the 1 MiB buffer next');
  lentRead(300_000, large);
  assert.equal(onread.buffer(), large, 'reads of more than 64 KiB keep the large buffer');
  lentRead(10, large);
  assert.equal(onread.buffer(), small, 'a short read: back to the small buffer');
  lentRead(small.length, small);
  assert.equal(onread.buffer(), large, 'the large buffer is kept, not allocated again');
  // Nobody waits: the read is queued as a copy (one large read, just after bulk data), and the next one is small.
  onread.callback(large.length, large);
  assert.equal(onread.buffer(), small, 'a read nobody waits for: the small buffer next');
});

it('delivers a large payload intact across the switch between read buffers', async () => {
  const payload = Buffer.alloc(6 * 1024 * 1024);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 13 + (i >> 12)) & 0xff;
  const server = await files.fake(async ({ socket }) => {
    socket.write(payload);
  });
  const readSizes: number[] = [];
  const { source, socket } = spiedSource(server.addr, (bytes) => readSizes.push(bytes));
  files.defer(async () => {
    socket.destroy();
  });
  assert.ok((await readWhole(source, payload.length)).equals(payload), 'every byte, in order');
  assert.ok(
    readSizes.some((n) => n > 64 * 1024),
    `some reads took more than 64 KiB (reads: ${readSizes.length})`,
  );
});
