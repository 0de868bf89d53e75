/**
 * `send` against a scripted sender node that records what arrives: the
 * checks made before the first byte goes out (the command's range, the
 * metadata's size, files and inputs that cannot be sent, each error naming
 * the part), the exact bytes of a string, a node's `Ok` without a transfer
 * id, and `connsend` closing the connection it opened.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { encodeTelegram, Telegram } from '../../src/blather/index.ts';
import { connsend, type MsgSpec, send } from '../../src/msg/index.ts';
import { closedAfterFile } from '../helpers/closed-after.ts';
import { within } from '../helpers/deadline.ts';
import { rejectsCode } from '../helpers/errors.ts';
import type { FakeConn } from '../helpers/fake-server.ts';

const files = closedAfterFile();
const U32_MAX = 2 ** 32 - 1;

/** What a recording node received: each `Msg` header, and the bytes of the parts it read. */
interface Received {
  headers: Telegram[];
  parts: Buffer[];
}

/**
 * A sender node's message interface: answers each `Msg` with `answer(header)`
 * (default `Ok` with transfer id `x-1`); after an `Ok` with a transfer id it
 * reads each announced part and acknowledges it.
 */
async function recordingNode(
  answer: (header: Telegram) => Telegram = () => new Telegram('Ok', { XferId: 'x-1' }),
) {
  const received: Received = { headers: [], parts: [] };
  const server = await files.fake(async ({ socket, reader }: FakeConn) => {
    for (;;) {
      const header = await reader.nextTelegram();
      if (!header) break;
      received.headers.push(header);
      const reply = answer(header);
      socket.write(encodeTelegram(reply));
      if (reply.topic !== 'Ok' || reply.params.get('XferId') === undefined) continue;
      for (const key of ['MetaLen', 'Len']) {
        const n = header.params.getIntDef(key, 0);
        if (n === 0) continue;
        received.parts.push(await reader.readBytes(n));
        socket.write(encodeTelegram(new Telegram('Ok')));
      }
    }
  });
  return { server, received };
}

/** A recording node (see {@link recordingNode}) and a connection to it. */
async function connectedNode(answer?: (header: Telegram) => Telegram) {
  const node = await recordingNode(answer);
  return { ...node, conn: await files.open(node.server.addr) };
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ddmw-send-checks-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('checked before anything is sent', () => {
  it('cmd goes up to 2^32-1; beyond is BAD_INPUT naming the range', async () => {
    const { conn, received } = await connectedNode();
    const err = await rejectsCode(send(conn, { ch: 1, cmd: U32_MAX + 1 }), 'BAD_INPUT');
    assert.equal(err.message, `Invalid cmd ${U32_MAX + 1}: use an integer from 0 to ${U32_MAX}`);
    assert.equal(received.headers.length, 0, 'nothing was sent for the refused cmd');
    assert.equal(await send(conn, { ch: 1, cmd: U32_MAX }), 'x-1');
    assert.equal(received.headers[0]?.params.get('Cmd'), String(U32_MAX));
  });

  it('metadata of more than 2^32-1 bytes is refused; 2^32-1 bytes are announced', async () => {
    const { conn, received } = await connectedNode(
      () => new Telegram('Fail', { Reason: 'no room' }),
    );
    const huge = (length: number): MsgSpec => ({
      ch: 1,
      meta: { stream: Readable.from([]), length },
    });
    const err = await rejectsCode(send(conn, huge(U32_MAX + 1)), 'BAD_INPUT');
    assert.equal(
      err.message,
      `The metadata is ${U32_MAX + 1} bytes; at most ${U32_MAX} can be sent`,
    );
    assert.equal(received.headers.length, 0, 'nothing was sent');
    // The node refuses the announced message: no byte of the part is written.
    await rejectsCode(send(conn, huge(U32_MAX)), 'SERVER_ERROR');
    assert.equal(received.headers[0]?.params.get('MetaLen'), String(U32_MAX));
  });

  it('a folder given as a file is IO naming the part and the path', async () => {
    const { conn, received } = await connectedNode();
    const payload = await rejectsCode(send(conn, { ch: 1, payload: { file: dir } }), 'IO');
    assert.equal(payload.message, `Cannot send the payload file ${dir}: not a regular file`);
    const meta = await rejectsCode(send(conn, { ch: 1, meta: { file: dir } }), 'IO');
    assert.equal(meta.message, `Cannot send the metadata file ${dir}: not a regular file`);
    const missing = join(dir, 'missing');
    const gone = await rejectsCode(send(conn, { ch: 1, payload: { file: missing } }), 'IO');
    assert.match(gone.message, new RegExp(`^Cannot send the payload file ${missing}: .*ENOENT`));
    assert.equal(received.headers.length, 0, 'nothing was sent');
    assert.equal(conn.isClosed, false);
  });

  it('an input of no supported kind is BAD_INPUT naming the part and the kinds', async () => {
    const { conn, received } = await connectedNode();
    const kinds = 'use a Buffer, string, Params, KVLines, { file } or { stream, length }';
    for (const bad of [{ path: 'x' }, 42, null, true]) {
      const p = await rejectsCode(send(conn, { ch: 1, payload: bad as never }), 'BAD_INPUT');
      assert.equal(p.message, `Unsupported payload input: ${kinds}`, JSON.stringify(bad));
      const m = await rejectsCode(send(conn, { ch: 1, meta: bad as never }), 'BAD_INPUT');
      assert.equal(m.message, `Unsupported metadata input: ${kinds}`, JSON.stringify(bad));
    }
    assert.equal(received.headers.length, 0, 'nothing was sent');
  });
});

describe('on the wire', () => {
  it('strings are sent as UTF-8: their byte lengths announced, their bytes sent', async () => {
    const { conn, received } = await connectedNode();
    assert.equal(await send(conn, { ch: 1, meta: 'é=1\n\n', payload: 'naïve ✓' }), 'x-1');
    const header = received.headers[0];
    assert.equal(header?.params.get('MetaLen'), '6');
    assert.equal(header?.params.get('Len'), String(Buffer.byteLength('naïve ✓')));
    assert.deepEqual(received.parts, [Buffer.from('é=1\n\n'), Buffer.from('naïve ✓')]);
  });

  it("a node's Ok without a transfer id is MISSING_DATA", async () => {
    const { conn } = await connectedNode(() => new Telegram('Ok'));
    const err = await rejectsCode(send(conn, { ch: 1, payload: 'x' }), 'MISSING_DATA');
    assert.equal(err.message, 'Missing expected transfer identifier (XferId) in the server reply');
  });
});

describe('connsend', () => {
  it('sends one message and closes the connection it opened', async () => {
    const { server, received } = await recordingNode();
    assert.equal(await connsend(server.addr, undefined, { ch: 4 }, { payload: 'once' }), 'x-1');
    await within(server.allClosed(), 5000, 'the node to see the connection of connsend closed');
    assert.equal(received.headers[0]?.params.get('_Ch'), '4');
    assert.deepEqual(received.parts, [Buffer.from('once')]);
  });
});
