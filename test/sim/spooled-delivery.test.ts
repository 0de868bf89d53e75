/**
 * A message the receiver node keeps in a spool file is written out from two
 * buffers in turn, each reused only once its last write is out; and a
 * socket write asked to be flushed resolves only once the socket has
 * handed the bytes on.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ChunkWriter, ReceivedMessage } from '../../src/sim/node/message.ts';
import { writeChunks } from '../../src/sim/node/socket-write.ts';
import { within } from '../helpers/deadline.ts';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ddmw-spooled-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** A message of `payload` kept in a spool file. */
async function spooledMessage(payload: Buffer): Promise<ReceivedMessage> {
  const path = join(dir, randomUUID());
  await writeFile(path, payload);
  const header = { ch: '7', xferId: randomUUID(), cmd: 0, metaLen: 0, len: payload.length };
  return new ReceivedMessage(header, { kind: 'file', path, size: payload.length });
}

/**
 * A writer whose flushed writes complete 10 ms later, and that copies what
 * it was given only then: a buffer reused before its write is out shows up
 * as wrong bytes.
 */
function slowWriter(): { write: ChunkWriter; bytes: () => Buffer; flushedAsked: () => number } {
  const got: Buffer[] = [];
  let flushedAsked = 0;
  const write: ChunkWriter = (chunks, flushed) => {
    if (!flushed) {
      for (const c of chunks) got.push(Buffer.from(c));
      return Promise.resolve();
    }
    flushedAsked++;
    const at = got.length;
    got.push(Buffer.alloc(0));
    // Out 10 ms later: far longer than reading the next piece of a cached file takes.
    return new Promise((resolve) =>
      setTimeout(() => {
        got[at] = Buffer.concat(chunks);
        resolve();
      }, 10),
    );
  };
  return { write, bytes: () => Buffer.concat(got), flushedAsked: () => flushedAsked };
}

describe('a spooled message written out', () => {
  it('arrives whole from the two reused buffers, its telegram first', async () => {
    const payload = randomBytes(3 * 256 * 1024 + 12_345); // four reads of the spool file
    const msg = await spooledMessage(payload);
    const w = slowWriter();
    assert.equal(
      await within(
        msg.writeTo(w.write, () => false),
        10_000,
        'the message written',
      ),
      true,
    );
    assert.deepEqual(w.bytes(), Buffer.concat([msg.telegram, payload]));
    assert.equal(w.flushedAsked(), 4, 'the payload went out in flushed writes');
    msg.release();
  });

  it('stops when the connection is gone, and says so', async () => {
    const msg = await spooledMessage(randomBytes(1024 * 1024));
    const w = slowWriter();
    let writes = 0;
    const counting: ChunkWriter = (chunks, flushed) => {
      writes++;
      return w.write(chunks, flushed);
    };
    const whole = await within(
      msg.writeTo(counting, () => writes >= 2),
      10_000,
      'writeTo',
    );
    assert.equal(whole, false);
    assert.equal(writes, 2, 'nothing more is read or written once the connection is gone');
    msg.release();
  });
});

describe('a flushed socket write', () => {
  let server: ReturnType<typeof createServer>;
  let client: Socket;
  let peer: Socket;
  before(async () => {
    const accepted = new Promise<Socket>((resolve) => {
      server = createServer(resolve);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = netConnect((server.address() as { port: number }).port, '127.0.0.1');
    peer = await within(accepted, 5000, 'the connection accepted');
    peer.pause(); // nothing read: the kernel's buffers fill up
  });
  after(() => {
    client.destroy();
    peer.destroy();
    server.close();
  });

  it('waits for the socket to hand on what it took, where a plain write only waits for room', async () => {
    // A socket that takes everything and calls back only when told to.
    const callbacks: (() => void)[] = [];
    const socket = {
      destroyed: false,
      writable: true,
      writableNeedDrain: false,
      write(_chunk: Uint8Array, cb?: () => void) {
        if (cb) callbacks.push(cb);
        return true;
      },
    } as unknown as Socket;
    let plainDone = false;
    let flushedDone = false;
    void writeChunks(socket, [Buffer.from('a')]).then(() => {
      plainDone = true;
    });
    const flushing = writeChunks(socket, [Buffer.from('b'), Buffer.from('c')], true).then(() => {
      flushedDone = true;
    });
    await new Promise(setImmediate);
    assert.equal(plainDone, true, 'a plain write resolves while the socket has room');
    assert.equal(flushedDone, false, 'a flushed write waits for its last chunk to be out');
    assert.equal(callbacks.length, 1, "one callback: the last chunk's");
    callbacks[0]?.();
    await within(flushing, 5000, 'the flushed write once its last chunk is out');
  });

  it('on a real socket, resolves once a peer that read nothing reads again', async () => {
    let flushed = false;
    const big = Buffer.alloc(32 * 1024 * 1024, 1); // more than the kernel's buffers hold
    const writing = writeChunks(client, [Buffer.from('head'), big], true).then(() => {
      flushed = true;
    });
    await new Promise(setImmediate);
    assert.equal(flushed, false, 'still queued in the socket while the peer reads nothing');
    peer.resume();
    await within(writing, 20_000, 'the flushed write');
  });

  it('resolves at once on a closed socket, writing nothing', async () => {
    const closed = netConnect((server.address() as { port: number }).port, '127.0.0.1');
    closed.destroy();
    await within(writeChunks(closed, [Buffer.from('x')], true), 5000, 'a write to a closed socket');
    await within(writeChunks(closed, [], true), 5000, 'an empty write');
  });
});
