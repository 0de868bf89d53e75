/**
 * `SocketSource` when bytes come while nobody reads: they are copied into
 * a queue, the socket is told to stop reading once 64 KiB are queued (the
 * rest waits in the kernel), and reading the queue back gives every byte
 * in order and starts the socket reading again. Over a real TCP socket.
 */
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { it } from 'node:test';
import { socketSource } from '../../src/conn/socket-source.ts';
import { closedAfterFile } from '../helpers/closed-after.ts';
import { waitFor, within } from '../helpers/deadline.ts';

const QUEUE_LIMIT = 64 * 1024;
const files = closedAfterFile();

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
  const { source, onread } = socketSource();
  /** Each read of the socket: its size, and whether the source asked for more. */
  const reads: { bytes: number; more: boolean }[] = [];
  const socket: Socket = netConnect({
    host: '127.0.0.1',
    port: Number(server.addr.split(':')[1]),
    onread: {
      buffer: onread.buffer,
      callback: (nread, buf) => {
        const more = onread.callback(nread, buf as Buffer);
        reads.push({ bytes: nread, more });
        return more;
      },
    },
  });
  source.attach(socket);
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

  const received: Buffer[] = [];
  let got = 0;
  const readAll = async () => {
    while (got < payload.length) {
      const chunk = await source.next();
      assert.ok(chunk, `the data ended after ${got} bytes`);
      received.push(Buffer.from(chunk));
      got += chunk.length;
    }
  };
  await within(readAll(), 20_000, 'all the data', () => `${got} of ${payload.length} bytes`);
  assert.ok(Buffer.concat(received).equals(payload), 'every byte, in order');
});
