/**
 * `recv` against a scripted receiver node: what a `Msg` header gives the
 * application (the fields and their defaults), what else may come instead
 * (a `Fail`, an unexpected telegram, a stream), headers whose lengths
 * cannot be received, and the errors that name a skipped message and say
 * why, down to the cause. After every skipped message the connection is at
 * the next one.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeTelegram, Telegram } from '../../src/blather/index.ts';
import type { Connection } from '../../src/conn/index.ts';
import { DdmwError } from '../../src/err.ts';
import { type Msg, MsgError, type RecvOptions, recv } from '../../src/msg/index.ts';
import { closedAfterFile } from '../helpers/closed-after.ts';
import { within } from '../helpers/deadline.ts';
import { rejectsCode } from '../helpers/errors.ts';

const files = closedAfterFile();

/** The message after the one under test: the connection must be at it. */
const HONEST = Buffer.concat([
  encodeTelegram(new Telegram('Msg', { _Ch: 7, XferId: 'honest', Len: 2 })),
  Buffer.from('ok'),
]);

/** A connection to a node that writes `bytes` (then ends the connection, with `end`). */
async function nodeSending(bytes: Buffer | string, { end = false } = {}): Promise<Connection> {
  const server = await files.fake(({ socket }) => {
    if (end) socket.end(bytes);
    else socket.write(bytes);
  });
  return files.open(server.addr);
}

/** `recv` with a deadline; its message or its error. */
function settle(conn: Connection, options?: RecvOptions): Promise<Msg | unknown> {
  return within(
    recv(conn, options).catch((e: unknown) => e),
    5000,
    'recv to settle',
  );
}

/** The next message is the honest one, received whole: the connection kept its step. */
async function atHonest(conn: Connection): Promise<void> {
  const m = await settle(conn);
  assert.equal((m as Msg).xferId, 'honest', `the next recv gave ${String(m)}`);
  const payload = (m as Msg).payload;
  assert.equal(payload?.kind === 'bytes' && payload.bytes.toString(), 'ok');
}

/** Expects a skipped message: a MsgError with `skipped` true, of `code`, whose message matches. */
function skippedWith(err: unknown, code: string, message: RegExp): MsgError {
  assert.ok(err instanceof MsgError, `not a MsgError: ${String(err)}`);
  assert.equal(err.code, code, err.message);
  assert.equal(err.skipped, true, err.message);
  assert.match(err.message, message);
  return err;
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ddmw-recv-headers-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the fields of a Msg header', () => {
  it('missing numbers are 0, and the channel may be named Ch instead of _Ch (_Ch wins)', async () => {
    const conn = await nodeSending('Msg\nCh 9\nXferId a\n\nMsg\n_Ch 7\nCh 9\nXferId b\n\n');
    assert.deepEqual(await settle(conn), {
      kind: 'msg',
      xferId: 'a',
      cmd: 0,
      ch: '9',
      metaLen: 0,
      payloadLen: 0,
      meta: undefined,
      payload: undefined,
    });
    assert.equal(((await settle(conn)) as Msg).ch, '7');
  });

  it('a header without transfer id or channel is named as far as known when it is skipped', async () => {
    const conn = await nodeSending(Buffer.concat([Buffer.from('Msg\nLen 2\n\nab'), HONEST]));
    const err = await settle(conn, {
      storeq: () => {
        throw new Error('not today');
      },
    });
    skippedWith(
      err,
      'BAD_PARAMS',
      /^Message \(no XferId\) \(channel \?, cmd 0\) was skipped: storeq refused the message: not today$/,
    );
    await atHonest(conn);
  });

  it('a Cmd that does not parse: the message is skipped, named without a command', async () => {
    const conn = await nodeSending(
      Buffer.concat([Buffer.from('Msg\n_Ch 7\nXferId c\nCmd x\nLen 2\n\nab'), HONEST]),
    );
    const err = skippedWith(
      await settle(conn),
      'BLATHER',
      /^Message c \(channel 7\) was skipped: /,
    );
    assert.equal(err.cmd, undefined);
    await atHonest(conn);
  });
});

describe('what comes instead of a message', () => {
  it('a Fail is SERVER_ERROR with its reason; the connection goes on', async () => {
    const conn = await nodeSending(
      Buffer.concat([encodeTelegram(new Telegram('Fail', { Reason: 'too slow' })), HONEST]),
    );
    const err = await rejectsCode(recv(conn), 'SERVER_ERROR', 5000);
    assert.equal(err.message, 'Server replied Fail: too slow');
    assert.equal(conn.isClosed, false);
    await atHonest(conn);
  });

  it('another telegram is BAD_STATE naming what was expected, and closes the connection', async () => {
    const conn = await nodeSending(Buffer.concat([encodeTelegram(new Telegram('Ok')), HONEST]));
    const err = await rejectsCode(recv(conn), 'BAD_STATE', 5000);
    assert.equal(err.message, 'Unexpected reply from server: expected Msg, got "Ok"');
    assert.equal(conn.isClosed, true);
  });

  it('a stream, without streams: true, is skipped whole and reported as BAD_PARAMS saying how to receive it', async () => {
    const stream = 'Strm\n_Ch 7\nXferId s1\n\nChunk\nLen 3\n\nabcStrmAbort\nReason gone\n\n';
    const conn = await nodeSending(Buffer.concat([Buffer.from(stream), HONEST]));
    const err = skippedWith(
      await settle(conn),
      'BAD_PARAMS',
      /^Message s1 \(channel 7\) was skipped: It is a stream: pass \{ streams: true \} to receive streams$/,
    );
    assert.equal(err.xferId, 's1');
    await atHonest(conn);
  });
});

describe('lengths that cannot be received', () => {
  it('MetaLen + Len beyond 2^53-1 bytes: BAD_INPUT, and the connection is closed', async () => {
    const len = 2 ** 53 - 5;
    const conn = await nodeSending(`Msg\n_Ch 7\nXferId big\nMetaLen 5\nLen ${len}\n\n`);
    const err = await settle(conn);
    assert.ok(err instanceof MsgError, String(err));
    assert.equal(err.code, 'BAD_INPUT');
    assert.equal(err.skipped, false);
    assert.equal(
      err.message,
      `Message big (channel 7, cmd 0) could not be skipped; the connection was closed: MetaLen 5 + Len ${len} is beyond what can be received (2^53-1 bytes)`,
    );
    assert.equal(conn.isClosed, true);
  });

  it('MetaLen + Len of exactly 2^53-1 bytes can be announced (and is refused as too big to buffer)', async () => {
    const conn = await nodeSending(`Msg\n_Ch 7\nXferId big\nMetaLen 4\nLen ${2 ** 53 - 5}\n\n`, {
      end: true,
    });
    const err = await settle(conn);
    assert.ok(err instanceof MsgError, String(err));
    assert.equal(err.code, 'BAD_PARAMS');
    assert.match(err.message, /over the 67108864-byte limit/);
  });
});

describe('a part that cannot be stored', () => {
  it('metadata that is not a params block: BAD_INPUT, with the decoder’s error as the cause', async () => {
    const bad = ' bad key\n\n';
    const header = `Msg\n_Ch 7\nXferId p\nMetaLen ${bad.length}\nLen 2\n\n`;
    const conn = await nodeSending(Buffer.concat([Buffer.from(`${header}${bad}xx`), HONEST]));
    const err = skippedWith(
      await settle(conn, { storeq: () => ({ meta: 'params', payload: 'bytes' }) }),
      'BAD_INPUT',
      /was skipped: The metadata is not a valid params block: /,
    );
    const cause = err.cause as DdmwError;
    assert.equal(cause.code, 'BAD_INPUT');
    const decoderError = cause.cause;
    assert.ok(decoderError instanceof DdmwError, `cause of the cause: ${String(decoderError)}`);
    assert.ok(cause.message.endsWith(decoderError.message), cause.message);
    await atHonest(conn);
  });

  it('a payload that is not a kvlines or params block: BAD_INPUT naming the payload', async () => {
    const bad = ' bad key\n\n';
    const header = `Msg\n_Ch 7\nXferId q\nMetaLen 2\nLen ${bad.length}\n\n`;
    const conn = await nodeSending(Buffer.concat([Buffer.from(`${header}mm${bad}`), HONEST]));
    skippedWith(
      await settle(conn, { storeq: () => ({ meta: 'bytes', payload: 'params' }) }),
      'BAD_INPUT',
      /^Message q \(channel 7, cmd 0\) was skipped: The payload is not a valid params block: /,
    );
    await atHonest(conn);
  });

  it("metadata whose file cannot be moved into place: the 'stream' payload is dropped, the rest skipped", async () => {
    const target = join(dir, 'a-folder');
    await mkdir(target);
    await writeFile(join(target, 'inside'), 'x');
    const payload = Buffer.alloc(300_000, 0x4d);
    const header = `Msg\n_Ch 7\nXferId f\nMetaLen 4\nLen ${payload.length}\n\n`;
    const conn = await nodeSending(Buffer.concat([Buffer.from(`${header}meta`), payload, HONEST]));
    const err = skippedWith(
      await settle(conn, { storeq: () => ({ meta: { file: target }, payload: 'stream' }) }),
      'IO',
      new RegExp(`was skipped: Cannot move the received metadata to ${target}: `),
    );
    assert.equal(err.xferId, 'f');
    await atHonest(conn);
    assert.deepEqual(await readdir(dir), ['a-folder'], 'no temporary file is left');
  });
});
