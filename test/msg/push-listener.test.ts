/**
 * The push listener (`listenPush`) against a scripted receiver node: the
 * test connects to the listener as the node does, pushes exact bytes and
 * reads the `Ok` / `Fail` of each message. Where it listens (a TCP port
 * asked for, port 0, a Unix socket, a port in use), the iterator (a message
 * waits for its consumer, whose being done with it is the `Ok`; `close`
 * ends a waiting iteration and the pushing connections), and each way a
 * connection can go wrong: a handler that throws, a stream, a message that
 * cannot be skipped, a node that hangs up, an `onSkipped` that throws.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import { encodeTelegram, Telegram } from '../../src/blather/index.ts';
import type { Connection } from '../../src/conn/index.ts';
import {
  listenPush,
  type Msg,
  MsgError,
  type PushListener,
  type PushOptions,
} from '../../src/msg/index.ts';
import { closedAfterFile } from '../helpers/closed-after.ts';
import { within } from '../helpers/deadline.ts';
import { rejectsCode } from '../helpers/errors.ts';
import { freePort } from '../helpers/free-port.ts';

const files = closedAfterFile();

/** Starts a listener, closed when the file ends. */
async function listener(addr: string, options?: PushOptions): Promise<PushListener> {
  const l = await listenPush(addr, options);
  files.defer(() => l.close());
  return l;
}

/** A `Msg` on channel 7 with its payload. */
function msg(xferId: string, payload: string): Buffer {
  return Buffer.concat([
    encodeTelegram(
      new Telegram('Msg', { _Ch: 7, XferId: xferId, Len: Buffer.byteLength(payload) }),
    ),
    Buffer.from(payload),
  ]);
}

/** A message whose length does not parse: it cannot be skipped. */
const UNSKIPPABLE = Buffer.from('Msg\n_Ch 7\nXferId bad\nLen -1\n\n');

/** A stream of one chunk (the listener receives messages only). */
const STREAM = Buffer.from(
  'Strm\n_Ch 7\nXferId s\n\nChunk\nLen 3\n\nabcStrmAbort\nReason gone\n\n',
);

/** Pushes `bytes` as the node does and reads the listener's answer (`Ok` or `Fail`). */
function push(node: Connection, bytes: Buffer, what = 'the answer to the pushed message') {
  const answer = node.exclusive(async (io) => {
    await io.write(bytes);
    return io.reader.readTelegram();
  });
  return within(answer, 5000, what);
}

/** Expects an `Ok`. */
async function pushOk(node: Connection, bytes: Buffer): Promise<void> {
  const answer = await push(node, bytes);
  assert.equal(answer.topic, 'Ok', `answer: ${answer.topic} ${answer.params.get('Reason')}`);
}

function text(m: Msg): string {
  assert.equal(m.payload?.kind, 'bytes');
  return (m.payload as { bytes: Buffer }).bytes.toString();
}

/** A promise resolved by the first call of the function it comes with. */
function called<T>(): { promise: Promise<T>; call: (value: T) => void } {
  let call: (value: T) => void = () => {};
  const promise = new Promise<T>((resolve) => {
    call = resolve;
  });
  return { promise, call };
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ddmw-push-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('where it listens', () => {
  it('on the TCP port asked for, or with port 0 on a port of its own', async () => {
    const port = await freePort();
    const seen: string[] = [];
    const asked = await listener(`127.0.0.1:${port}`, { onMsg: (m) => void seen.push(text(m)) });
    assert.equal(asked.address, `127.0.0.1:${port}`);
    await pushOk(await files.open(asked.address), msg('a', 'over tcp'));
    assert.deepEqual(seen, ['over tcp']);
    const any = await listener('127.0.0.1:0');
    const bound = /^127\.0\.0\.1:(\d+)$/.exec(any.address);
    assert.ok(bound && Number(bound[1]) > 0, any.address);
  });

  it('on a Unix socket: its address is the path, and the node pushes through it', async () => {
    const path = join(dir, 'push.sock');
    const seen: string[] = [];
    const l = await listener(path, { onMsg: (m) => void seen.push(text(m)) });
    assert.equal(l.address, path);
    await pushOk(await files.open(path), msg('a', 'over a unix socket'));
    assert.deepEqual(seen, ['over a unix socket']);
  });

  it('a port in use is IO naming the address', async () => {
    const taken = await listener('127.0.0.1:0');
    const err = await rejectsCode(listenPush(taken.address), 'IO');
    assert.ok(err.message.startsWith(`Cannot listen on ${taken.address}: `), err.message);
    assert.match(err.message, /EADDRINUSE/);
  });
});

describe('the iterator', () => {
  it('a message pushed before anyone iterates waits; the node gets Ok once the consumer is done with it', async () => {
    const arrived = called<void>();
    const l = await listener('127.0.0.1:0', {
      storeq: () => {
        arrived.call();
        return 'bytes';
      },
    });
    const node = await files.open(l.address);
    const first = push(node, msg('a', 'one'), 'the Ok of the first message');
    // Its header has been read, and its payload came with it: a turn later it is in the queue,
    // with no one iterating yet. (Were it later, the order would be the usual one: no false failure.)
    await within(arrived.promise, 5000, 'the first message to reach the listener');
    await turn();
    const got: string[] = [];
    for await (const m of l) {
      got.push(text(m));
      break; // done with it: the Ok goes out
    }
    assert.equal((await first).topic, 'Ok');
    const second = push(node, msg('b', 'two'), 'the Ok of the second message');
    for await (const m of l) {
      got.push(text(m));
      break;
    }
    assert.equal((await second).topic, 'Ok');
    assert.deepEqual(got, ['one', 'two']);
  });

  it('close() ends an iteration waiting for the next message and closes the pushing connections', async () => {
    const l = await listener('127.0.0.1:0');
    const node = await files.open(l.address);
    const got: string[] = [];
    const iteration = (async () => {
      for await (const m of l) got.push(text(m));
    })();
    // Asking for the next message acknowledges this one: the iteration now waits.
    await pushOk(node, msg('a', 'one'));
    await within(l.close(), 5000, 'close() to resolve');
    await within(iteration, 5000, 'the iteration to end');
    await within(node.closed, 5000, 'the pushing connection to be closed');
    assert.deepEqual(got, ['one']);
  });
});

describe('what goes wrong', () => {
  it('a handler that throws is a Fail whose Reason is its message on one line; the next message is handled', async () => {
    const seen: string[] = [];
    const l = await listener('127.0.0.1:0', {
      onMsg: (m) => {
        seen.push(text(m));
        if (text(m) === 'bad') throw new Error('cannot store\r\nthe disk\n\nis full');
      },
    });
    const node = await files.open(l.address);
    const fail = await push(node, msg('a', 'bad'));
    assert.equal(fail.topic, 'Fail');
    assert.deepEqual(fail.params.toObject(), { Reason: 'cannot store the disk is full' });
    await pushOk(node, msg('b', 'good'));
    assert.deepEqual(seen, ['bad', 'good']);
  });

  it('a stream is skipped: Fail saying why, onSkipped told with the count, the next message handled', async () => {
    const seen: string[] = [];
    const skipped: [string, boolean, number][] = [];
    const l = await listener('127.0.0.1:0', {
      onMsg: (m) => void seen.push(text(m)),
      onSkipped: (err, n) => skipped.push([err.code, err.skipped, n]),
    });
    const node = await files.open(l.address);
    const fail = await push(node, STREAM);
    assert.equal(fail.topic, 'Fail');
    assert.equal(
      fail.params.get('Reason'),
      'Message s (channel 7) was skipped: It is a stream: pass { streams: true } to receive streams',
    );
    await pushOk(node, msg('b', 'after the stream'));
    assert.deepEqual(seen, ['after the stream']);
    assert.deepEqual(skipped, [['BAD_PARAMS', true, 1]]);
  });

  it('onError is told of a connection ended by an error, not of a node that hangs up; the listener goes on', async () => {
    const errors: Error[] = [];
    const told = called<void>();
    const skipped: MsgError[] = [];
    const l = await listener('127.0.0.1:0', {
      onMsg: () => {},
      onSkipped: (err) => skipped.push(err),
      onError: (err) => {
        errors.push(err);
        told.call();
      },
    });
    const quitter = await files.open(l.address);
    await pushOk(quitter, msg('a', 'one'));
    await quitter.close(); // between messages: not an error
    const node = await files.open(l.address);
    await pushOk(node, msg('b', 'two'));
    await rejectsCode(push(node, UNSKIPPABLE), 'DISCONNECTED');
    await within(told.promise, 5000, 'onError to be told');
    assert.equal(errors.length, 1, errors.map((e) => e.message).join('; '));
    const err = errors[0];
    assert.ok(err instanceof MsgError, String(err));
    assert.equal(err.skipped, false);
    assert.equal(err.xferId, 'bad');
    assert.deepEqual(skipped, []);
    await pushOk(await files.open(l.address), msg('c', 'three'));
  });

  it('without onError, a connection ended by an error leaves the listener going on', async () => {
    const seen: string[] = [];
    const l = await listener('127.0.0.1:0', { onMsg: (m) => void seen.push(text(m)) });
    const broken = await files.open(l.address);
    await rejectsCode(push(broken, UNSKIPPABLE), 'DISCONNECTED');
    await pushOk(await files.open(l.address), msg('a', 'after'));
    assert.deepEqual(seen, ['after']);
  });

  it('an onSkipped that throws ends that connection (the node is not left waiting) and is told to onError', async () => {
    const told = called<Error>();
    const l = await listener('127.0.0.1:0', {
      onMsg: () => {},
      onSkipped: () => {
        throw new Error('onSkipped broke');
      },
      onError: told.call,
    });
    const node = await files.open(l.address);
    await rejectsCode(push(node, STREAM), 'DISCONNECTED');
    await within(node.closed, 5000, 'the connection to be closed');
    const err = await within(told.promise, 5000, 'onError to be told');
    assert.equal(err.message, 'onSkipped broke');
  });
});
