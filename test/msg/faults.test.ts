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
import { recv, send } from '../../src/msg/index.ts';
import { within } from '../helpers/deadline.ts';
import { rejectsCode } from '../helpers/errors.ts';
import { startFakeServer } from '../helpers/fake-server.ts';

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
      const storeq = () => ({ meta: { file: metaTarget }, payload: { file: target } });
      await rejectsCode(recv(conn, { storeq }), 'DISCONNECTED', 5000);
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
