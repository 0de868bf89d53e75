/**
 * Writing inside an exchange: `writeStream` sends exactly the announced
 * length (UTF-8 bytes of string chunks counted as bytes), a source that
 * runs long, ends short or fails closes the connection with the reason,
 * a source not read to its end is stopped, and closing the connection
 * stops a stalled source; `write` waits for the socket to drain and
 * reports a connection that failed meanwhile. Against a fake server that
 * collects what it receives.
 */
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { parseProtAddr } from '../../src/conn/addr.ts';
import { Connection as ConnectionClass } from '../../src/conn/connection.ts';
import { type Connection, whoami } from '../../src/conn/index.ts';
import { DdmwError } from '../../src/err.ts';
import { closedAfterFile } from '../helpers/closed-after.ts';
import { waitFor, within } from '../helpers/deadline.ts';
import { rejectsCode } from '../helpers/errors.ts';

const files = closedAfterFile();

/** A fake server keeping every byte it receives; `paused` holds them in the kernel until `resume()`. */
async function collector(paused = false) {
  const received: Buffer[] = [];
  let resume = () => {};
  const server = await files.fake(({ socket }) => {
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    if (paused) socket.pause();
    resume = () => socket.resume();
  });
  const bytes = () => Buffer.concat(received);
  return { addr: server.addr, bytes, resume: () => resume(), server };
}

/** A connection made on a socket the test can see (`connect()` keeps its socket to itself). */
async function openWithSocket(addr: string): Promise<{ conn: Connection; socket: Socket }> {
  const socket = netConnect(Number(addr.split(':')[1]), '127.0.0.1');
  await within(new Promise((resolve) => socket.once('connect', resolve)), 5000, 'connect');
  const conn = new ConnectionClass(socket, parseProtAddr(addr));
  files.defer(() => conn.close());
  return { conn, socket };
}

/** Writes `stream` (announced as `length` bytes) in one exchange on `conn`. */
const writeStream = (
  conn: Connection,
  stream: Readable | AsyncIterable<Uint8Array>,
  length: number,
): Promise<void> => conn.exclusive((io) => io.writeStream(stream, length));

/** An async generator over `parts` that records whether it was stopped (returned) early. */
function generator(parts: (Uint8Array | string)[]) {
  const state = { finished: false, stopped: false };
  async function* gen(): AsyncGenerator<Uint8Array> {
    try {
      for (const part of parts) yield part as Uint8Array;
      state.finished = true;
    } finally {
      if (!state.finished) state.stopped = true;
    }
  }
  return { iterable: gen(), state };
}

describe('writeStream', () => {
  it('sends the announced bytes; string chunks count as their UTF-8 bytes', async () => {
    const sink = await collector();
    const conn = await files.open(sink.addr);
    const parts = ['héllo ', Buffer.from('wörld'), '€'];
    const expected = Buffer.concat(parts.map((p) => Buffer.from(p)));
    await writeStream(conn, Readable.from(parts), expected.length);
    await waitFor(
      'the server to receive the payload',
      () => sink.bytes().length >= expected.length,
    );
    assert.deepEqual(sink.bytes(), expected);
    assert.equal(conn.isClosed, false, 'the connection goes on');
  });
  it('a source that runs long is BAD_INPUT: the excess is not sent, the source is stopped, the connection closed', async () => {
    const sink = await collector();
    const conn = await files.open(sink.addr);
    const { iterable, state } = generator([
      Buffer.from('abc'),
      Buffer.from('defg'),
      Buffer.from('h'),
    ]);
    const err = await rejectsCode(writeStream(conn, iterable, 5), 'BAD_INPUT');
    assert.equal(
      err.message,
      'The payload stream is longer than the announced 5 bytes; the transfer was aborted and the connection closed',
    );
    assert.equal(state.stopped, true, 'the generator was stopped');
    assert.equal(await rejectsCode(whoami(conn), 'BAD_INPUT'), err, 'later calls fail with it');
    await within(sink.server.allClosed(), 5000, 'the server to see the connection close');
    assert.equal(sink.bytes().toString(), 'abc');
  });
  it('a long Readable is destroyed, and an iterator without return() is just left', async () => {
    const sink = await collector();
    const readable = Readable.from([Buffer.from('12345'), Buffer.from('678')], {
      objectMode: false,
    });
    await rejectsCode(writeStream(await files.open(sink.addr), readable, 6), 'BAD_INPUT');
    assert.equal(readable.destroyed, true);
    let pulls = 0;
    const bare: AsyncIterable<Uint8Array> = {
      [Symbol.asyncIterator]: () => ({
        next: async () => ({ done: false, value: Buffer.from(`chunk-${++pulls}`) }),
      }),
    };
    await rejectsCode(writeStream(await files.open(sink.addr), bare, 10), 'BAD_INPUT');
    assert.equal(pulls, 2);
  });
  it('a source that ends short is BAD_INPUT and closes the connection', async () => {
    const sink = await collector();
    const conn = await files.open(sink.addr);
    const { iterable, state } = generator(['ab', 'c']);
    const err = await rejectsCode(writeStream(conn, iterable, 4), 'BAD_INPUT');
    assert.equal(
      err.message,
      'The payload stream ended after 3 of the announced 4 bytes; the transfer was aborted and the connection closed',
    );
    assert.equal(state.finished, true);
    await within(conn.closed, 5000, 'the connection to close');
  });
  it('a source that fails is an IO error saying so, and closes the connection', async () => {
    const sink = await collector();
    const conn = await files.open(sink.addr);
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield Buffer.from('x');
      throw new Error('disk on fire');
    }
    const err = await rejectsCode(writeStream(conn, failing(), 4), 'IO');
    assert.equal(err.message, 'Reading the payload source failed: disk on fire');
    assert.equal(await rejectsCode(whoami(conn), 'IO'), err);
  });
  it('closing the connection stops a stalled Readable source', async () => {
    const sink = await collector();
    const conn = await files.open(sink.addr);
    const stalled = new Readable({ read() {} });
    stalled.push('start');
    const writing = writeStream(conn, stalled, 100);
    await waitFor('the first chunk to arrive', () => sink.bytes().length === 5);
    await conn.close();
    await rejectsCode(writing, 'DISCONNECTED', 5000);
    assert.equal(stalled.destroyed, true);
  });
  it('lets TCP coalesce while streaming (Nagle on), and turns it off again after', async () => {
    const sink = await collector();
    const socket = netConnect(Number(sink.addr.split(':')[1]), '127.0.0.1');
    const calls: boolean[] = [];
    const setNoDelay = socket.setNoDelay.bind(socket);
    socket.setNoDelay = (on?: boolean) => {
      calls.push(on ?? true);
      return setNoDelay(on);
    };
    await within(new Promise((resolve) => socket.once('connect', resolve)), 5000, 'connect');
    const conn = new ConnectionClass(socket, parseProtAddr(sink.addr));
    files.defer(() => conn.close());
    await writeStream(conn, Readable.from([Buffer.from('data')]), 4);
    assert.deepEqual(calls, [true, false, true]);
  });
});

describe('write', () => {
  it('waits for the socket to drain, then goes on', async () => {
    const sink = await collector(true);
    const { conn, socket } = await openWithSocket(sink.addr);
    const big = Buffer.alloc(8 * 1024 * 1024, 7);
    let done = false;
    const writing = conn
      .exclusive((io) => io.write(big))
      .then(() => {
        done = true;
      });
    await waitFor('the socket buffer to fill', () => socket.writableNeedDrain);
    assert.equal(done, false, 'the write waits while the server does not read');
    sink.resume();
    await within(writing, 20_000, 'the write to finish once the server reads');
    await waitFor('all data to arrive', () => sink.bytes().length === big.length, 20_000);
    await conn.close();
  });
  it('a connection that fails while the write waits to drain rejects the write', async () => {
    const sink = await collector(true);
    const { conn, socket } = await openWithSocket(sink.addr);
    const writing = conn.exclusive((io) => io.write(Buffer.alloc(8 * 1024 * 1024)));
    await waitFor('the socket buffer to fill', () => socket.writableNeedDrain);
    await conn.close();
    await rejectsCode(writing, 'DISCONNECTED', 5000);
  });
  it('a write after the connection failed and closed rejects at once', async () => {
    const sink = await collector();
    const conn = await files.open(sink.addr);
    const err = await rejectsCode(
      conn.exclusive(async (io) => {
        const failure = io.fail(new DdmwError('BAD_STATE', 'test'));
        await within(conn.closed, 5000, 'the socket to close');
        await io.write('late');
        return failure;
      }),
      'BAD_STATE',
    );
    assert.equal(err.message, 'test');
  });
});
