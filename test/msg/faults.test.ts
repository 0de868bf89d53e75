/**
 * Message transfer under faults, against scripted fake nodes: the peer
 * drops the connection at every byte offset of a send or a delivery.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeParams, encodeTelegram, Params, Telegram } from '../../src/blather/index.ts';
import { connect } from '../../src/conn/index.ts';
import { DdmwError } from '../../src/err.ts';
import { MsgError, recv, send } from '../../src/msg/index.ts';
import { startFakeServer, within } from '../helpers/fake-server.ts';

const META = new Params({ name: 'report.txt' });
const PAYLOAD = Buffer.from('0123456789abcdef');
const HEADER = encodeTelegram(
  new Telegram('Msg', { _Ch: 7, MetaLen: META.encodedSize(), Len: PAYLOAD.length }),
);
const SEQUENCE_LENGTH = HEADER.length + META.encodedSize() + PAYLOAD.length;

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ddmw-msg-faults-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * A fake sender node that answers the send sequence correctly but drops the
 * connection once it has received `cut` bytes of it.
 */
function droppingSender(cut: number) {
  return startFakeServer(({ socket }) => {
    let received = 0;
    const phases = [HEADER.length, HEADER.length + META.encodedSize(), SEQUENCE_LENGTH];
    const replies = [
      encodeTelegram(new Telegram('Ok', { XferId: 'x-1' })),
      encodeTelegram(new Telegram('Ok')),
      encodeTelegram(new Telegram('Ok')),
    ];
    socket.on('data', (d: Buffer) => {
      const before = received;
      received += d.length;
      for (let i = 0; i < phases.length; i++) {
        const end = phases[i] as number;
        if (before < end && received >= end && end <= cut) socket.write(replies[i] as Buffer);
      }
      if (received >= cut) socket.destroy();
    });
  });
}

describe('the sender node drops the connection', () => {
  it('at every byte offset of the send sequence: a typed error, never a hang', async () => {
    for (let cut = 0; cut < SEQUENCE_LENGTH; cut++) {
      const server = await droppingSender(cut);
      const conn = await connect(server.addr);
      try {
        await within(
          send(conn, { ch: 7, meta: META, payload: PAYLOAD }),
          5000,
          `send cut at ${cut}`,
        );
        assert.fail(`send cut at ${cut} succeeded`);
      } catch (e) {
        assert.ok(e instanceof DdmwError, `cut ${cut}: ${String(e)}`);
        assert.ok(['DISCONNECTED', 'IO'].includes(e.code), `cut ${cut}: ${e.code} ${e.message}`);
      }
      await conn.close();
      await server.close();
    }
  });
  it('the whole sequence succeeds', async () => {
    const server = await droppingSender(SEQUENCE_LENGTH + 1);
    const conn = await connect(server.addr);
    assert.equal(await send(conn, { ch: 7, meta: META, payload: PAYLOAD }), 'x-1');
    await conn.close();
    await server.close();
  });
});

describe('the receiver node drops the connection mid-message', () => {
  const delivery = Buffer.concat([HEADER, encodeParams(META), PAYLOAD]);

  it('at every byte offset: a typed error and no file left behind', async () => {
    for (let cut = 0; cut < delivery.length; cut++) {
      const server = await startFakeServer(({ socket }) => {
        socket.end(delivery.subarray(0, cut));
      });
      const conn = await connect(server.addr);
      const target = join(dir, `payload-${cut}`);
      const metaTarget = join(dir, `meta-${cut}`);
      await assert.rejects(
        within(
          recv(conn, { storeq: () => ({ meta: { file: metaTarget }, payload: { file: target } }) }),
          5000,
          'recv',
        ),
        (e: DdmwError) => e instanceof DdmwError && e.code === 'DISCONNECTED',
      );
      await conn.close();
      await server.close();
    }
    assert.deepEqual(await readdir(dir), []);
  });
  it('the whole message is stored', async () => {
    const server = await startFakeServer(({ socket }) => {
      socket.write(delivery);
    });
    const conn = await connect(server.addr);
    const m = await recv(conn, { storeq: () => ({ meta: 'params', payload: 'bytes' }) });
    assert.equal(m.meta?.kind === 'params' && m.meta.params.get('name'), 'report.txt');
    assert.deepEqual(m.payload?.kind === 'bytes' && m.payload.bytes, PAYLOAD);
    await conn.close();
    await server.close();
  });
});

describe('a receiver node that sends a header that does not parse', () => {
  /** A message whose payload is itself a whole message, as a hostile sender would craft it. */
  const forged = encodeTelegram(new Telegram('Msg', { _Ch: 7, XferId: 'forged', Len: 1 }));
  const honest = Buffer.concat([
    encodeTelegram(new Telegram('Msg', { _Ch: 7, XferId: 'honest', Len: 2 })),
    Buffer.from('ok'),
  ]);

  /** Serves `header` + the forged payload, then an honest message; returns the two receives. */
  async function receiveAfter(header: string) {
    const server = await startFakeServer(({ socket }) => {
      socket.write(Buffer.concat([Buffer.from(header), forged, Buffer.from('x'), honest]));
    });
    const conn = await connect(server.addr);
    try {
      const first = await within(
        recv(conn).catch((e: unknown) => e),
        5000,
        'the first recv',
      );
      const second = await within(
        recv(conn).catch((e: unknown) => e),
        5000,
        'the second recv',
      );
      return { first, second, closed: conn.isClosed };
    } finally {
      await conn.close();
      await server.close();
    }
  }

  it('a Cmd out of range: the message is skipped whole, the next one received', async () => {
    const header = `Msg\nCmd 4294967296\n_Ch 7\nXferId bad\nLen ${forged.length + 1}\n\n`;
    const { first, second, closed } = await receiveAfter(header);
    assert.ok(first instanceof MsgError, String(first));
    assert.equal(first.code, 'BLATHER');
    assert.equal(first.skipped, true);
    assert.equal(first.xferId, 'bad');
    assert.equal(first.cmd, undefined);
    assert.equal(first.ch, '7');
    assert.equal(closed, false);
    assert.equal((second as { xferId?: string }).xferId, 'honest');
  });

  for (const bad of ['MetaLen -1', 'Len 1e3', 'Len -5', 'Len 18446744073709551616']) {
    it(`${bad}: the connection is closed, the payload never read as a telegram`, async () => {
      const header = `Msg\n_Ch 7\nXferId bad\n${bad}\n\n`;
      const { first, second, closed } = await receiveAfter(header);
      assert.ok(first instanceof MsgError, String(first));
      assert.equal(first.skipped, false);
      assert.equal(first.xferId, 'bad');
      assert.match(first.message, /could not be skipped; the connection was closed/);
      assert.equal(closed, true);
      assert.ok(second instanceof DdmwError, `the next recv gave ${JSON.stringify(second)}`);
      assert.ok(!(second instanceof MsgError) || second.xferId === 'bad');
    });
  }

  it("a 10 GiB part received as 'bytes': BAD_PARAMS naming the limit, before any allocation", async () => {
    const server = await startFakeServer(({ socket }) => {
      socket.end(`Msg\n_Ch 7\nXferId huge\nLen ${10 * 2 ** 30}\n\nonly a few bytes`);
    });
    const conn = await connect(server.addr);
    const err = await within(
      recv(conn, { storeq: () => 'bytes' }).catch((e: unknown) => e),
      5000,
      'recv of the 10 GiB message',
    );
    assert.ok(err instanceof MsgError, String(err));
    assert.equal(err.code, 'BAD_PARAMS');
    assert.match(err.message, /10737418240-byte payload is over the 67108864-byte limit/);
    assert.equal(err.skipped, false, 'the peer ended the connection during the skip');
    await conn.close();
    await server.close();
  });
});
