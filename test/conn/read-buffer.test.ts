/**
 * A client connection reads into one reused buffer that it lends to the
 * decoder (`conn/socket-source.ts`). These tests check that nothing handed
 * to the caller still points into that buffer once it is reused: decoded
 * params, payload bytes, payload streams and chunk callbacks, whether the
 * data arrives in one piece or split across reads.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { type Params, Telegram } from '../../src/blather/index.ts';
import { connect, sendrecv } from '../../src/conn/index.ts';
import { closedAfterFile } from '../helpers/closed-after.ts';
import { within } from '../helpers/deadline.ts';
import type { FakeServer } from '../helpers/fake-server.ts';

/** A reply whose value fills a good part of the read buffer, so later reads overwrite it. */
function bigReply(tag: string): string {
  return `Ok\nTag ${tag}\nFill ${tag.repeat(20_000)}\n\n`;
}

const { fake } = closedAfterFile();

/** Answers every request with the next of `replies`, written in one piece. */
function replying(replies: string[]): Promise<FakeServer> {
  return fake(async ({ socket, reader }) => {
    for (const reply of replies) {
      if (!(await reader.nextTelegram())) return;
      socket.write(reply);
    }
  });
}

describe('lent read buffer', () => {
  it('params decoded earlier keep their values after later replies reuse the buffer', async () => {
    const server = await replying([bigReply('a'), bigReply('b'), bigReply('c')]);
    const conn = await connect(server.addr);
    const kept: Params[] = [];
    for (let i = 0; i < 3; i++) kept.push(await sendrecv(conn, new Telegram('Get')));
    assert.deepEqual(
      kept.map((p) => p.getStr('Tag')),
      ['a', 'b', 'c'],
    );
    assert.equal(kept[0]?.getStr('Fill'), 'a'.repeat(20_000));
    assert.equal(kept[1]?.getStr('Fill'), 'b'.repeat(20_000));
    await conn.close();
  });

  it('params decoded from the large (bulk) read buffer keep their values after later bulk replies', async () => {
    // Each reply fills the 64 KiB buffer at once: the rest of it, and the next ones, go to the 1 MiB one.
    const huge = (tag: string) => `Ok\nTag ${tag}\nFill ${tag.repeat(300_000)}\n\n`;
    const server = await replying([huge('a'), huge('b'), huge('c')]);
    const conn = await connect(server.addr, {
      maxTelegramBytes: 1024 * 1024,
      maxLineLength: 1024 * 1024,
    });
    const kept: Params[] = [];
    for (let i = 0; i < 3; i++) kept.push(await sendrecv(conn, new Telegram('Get')));
    assert.deepEqual(
      kept.map((p) => p.getStr('Fill')),
      ['a', 'b', 'c'].map((t) => t.repeat(300_000)),
    );
    await conn.close();
  });

  it('a telegram, raw bytes and another telegram in one write decode intact', async () => {
    const payload = Buffer.alloc(50_000);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
    const server = await fake(async ({ socket, reader }) => {
      await reader.nextTelegram();
      socket.write(
        Buffer.concat([
          Buffer.from(`Ok\nLen ${payload.length}\n\n`),
          payload,
          Buffer.from('Ok\nAfter yes\n\n'),
        ]),
      );
    });
    const conn = await connect(server.addr);
    const result = await conn.exclusive(async (io) => {
      io.writeRequest('Get\n\n');
      const head = await io.reader.readTelegram();
      const bytes = await io.reader.readBytes(head.params.getInt('Len'));
      const tail = await io.reader.readTelegram();
      return { head, bytes, tail };
    });
    assert.equal(result.head.params.getInt('Len'), payload.length);
    assert.ok(result.bytes.equals(payload));
    assert.equal(result.tail.params.getStr('After'), 'yes');
    await conn.close();
  });

  it('a payload read as a stream or in chunks is delivered intact across many reads', async () => {
    const payload = Buffer.alloc(3 * 1024 * 1024 + 123);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + (i >> 12)) & 0xff;
    const expected = createHash('sha256').update(payload).digest('hex');
    const server = await fake(async ({ socket, reader }) => {
      while (await reader.nextTelegram()) {
        socket.write(`Ok\nLen ${payload.length}\n\n`);
        socket.write(payload);
      }
    });
    const conn = await connect(server.addr);

    // As a stream, consumed slowly: chunks must not change after they are handed out.
    const streamed = await conn.exclusive(async (io) => {
      io.writeRequest('Get\n\n');
      const head = await io.reader.readTelegram();
      const held: Buffer[] = [];
      for await (const chunk of io.reader.readStream(head.params.getInt('Len'))) {
        held.push(chunk as Buffer);
        if (held.length % 8 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      return Buffer.concat(held);
    });
    assert.equal(createHash('sha256').update(streamed).digest('hex'), expected);

    // In chunks, with an asynchronous callback: each piece is valid until its promise settles.
    const hash = createHash('sha256');
    await conn.exclusive(async (io) => {
      io.writeRequest('Get\n\n');
      const head = await io.reader.readTelegram();
      await io.reader.readChunks(head.params.getInt('Len'), async (piece) => {
        const before = Buffer.from(piece);
        await new Promise((resolve) => setImmediate(resolve));
        assert.ok(piece.equals(before), 'a piece changed before its callback settled');
        hash.update(piece);
      });
    });
    assert.equal(hash.digest('hex'), expected);
    await within(conn.close(), 2000, 'close');
  });
});

describe('connection between exchanges', () => {
  it('an idle connection notices the peer closing, even with extra bytes left after a reply', async () => {
    const server = await fake(async ({ socket, reader }) => {
      await reader.nextTelegram();
      socket.write('Ok\nA 1\n\nOk\nB '); // a reply, then the start of another
      setTimeout(() => socket.end(), 50);
    });
    const conn = await connect(server.addr);
    const reply = await sendrecv(conn, new Telegram('Get'));
    assert.equal(reply.getStr('A'), '1');
    await within(conn.closed, 2000, 'noticing the close');
    assert.equal(conn.isClosed, true);
  });

  it('exclusive accepts a callback that returns a plain value, and hands the lock on', async () => {
    const server = await replying([]);
    const conn = await connect(server.addr);
    const plain = (() => 42) as unknown as () => Promise<number>;
    const results = await Promise.all([
      conn.exclusive(plain),
      conn.exclusive(plain),
      conn.exclusive(async () => 'third'),
    ]);
    assert.deepEqual(results, [42, 42, 'third']);
    await conn.close();
  });
});
