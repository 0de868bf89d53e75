/**
 * An exchange that holds the connection (a payload handed out as a
 * stream): nothing interleaves with the rest of its bytes, and when the
 * connection closes, the calls waiting behind it fail at once.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { encodeTelegram, Telegram } from '../../src/blather/index.ts';
import { connect, whoami } from '../../src/conn/index.ts';
import { messages, recv } from '../../src/msg/index.ts';
import { within } from '../helpers/deadline.ts';
import { startFakeServer } from '../helpers/fake-server.ts';

const HEADER = encodeTelegram(new Telegram('Msg', { _Ch: 7, XferId: 'big', Len: 1000 }));

it('a request made while a stream payload is unread waits for it (never reads payload bytes as its reply)', async () => {
  let writeRest = () => {};
  const server = await startFakeServer(({ socket }) => {
    socket.write(Buffer.concat([HEADER, Buffer.alloc(500, 0x4f)]));
    writeRest = () => {
      socket.write(Buffer.alloc(500, 0x4f));
      socket.write(encodeTelegram(new Telegram('Ok', { Id: 1, Name: 'me' })));
    };
  });
  const conn = await connect(server.addr);
  try {
    const m = await within(recv(conn, { storeq: () => 'stream' }), 5000, 'the message header');
    const who = whoami(conn, { timeoutMs: 10_000 });
    writeRest();
    let read = 0;
    if (m.payload?.kind !== 'stream') assert.fail('no stream');
    for await (const c of m.payload.stream) read += (c as Buffer).length;
    assert.equal(read, 1000);
    assert.deepEqual(await within(who, 5000, 'the WhoAmI reply'), { id: 1, name: 'me' });
  } finally {
    await conn.close();
    await server.close();
  }
});

it('calls waiting behind an unread stream payload fail at once when the connection closes', async () => {
  const server = await startFakeServer(({ socket }) => {
    socket.write(Buffer.concat([HEADER, Buffer.alloc(10, 1)])); // and never the rest
  });
  const conn = await connect(server.addr);
  try {
    const m = await within(recv(conn, { storeq: () => 'stream' }), 5000, 'the message header');
    if (m.payload?.kind === 'stream') m.payload.stream.on('error', () => {}); // cut short: expected
    const who = whoami(conn, { timeoutMs: 60_000 }).catch((e: unknown) => e);
    await conn.close();
    const err = await within(who, 2000, 'the queued WhoAmI to fail when the connection closed');
    assert.equal((err as { code?: string }).code, 'DISCONNECTED');
  } finally {
    await server.close();
  }
});

it('messages() asked for the next message over an unread stream payload fails loudly (no hang)', async () => {
  const server = await startFakeServer(({ socket }) => {
    socket.write(Buffer.concat([HEADER, Buffer.alloc(1000, 1), HEADER]));
  });
  const conn = await connect(server.addr);
  try {
    const it = messages(conn, { storeq: () => 'stream', onSkipped: () => {} });
    await within(it.next(), 5000, 'the first message');
    const err = await within(
      it.next().catch((e: unknown) => e),
      5000,
      'the loop to refuse the next message',
    );
    assert.equal((err as { code?: string }).code, 'BAD_STATE');
    assert.match(
      String(err),
      /payload stream was not read to its end: read it \(or destroy it, which skips its rest\) before asking for the next message/,
    );
  } finally {
    await conn.close();
    await server.close();
  }
});

it('recv called again before the payload stream is read fails loudly (no hang); after close, DISCONNECTED', async () => {
  const server = await startFakeServer(({ socket }) => {
    socket.write(Buffer.concat([HEADER, Buffer.alloc(1000, 1), HEADER]));
  });
  const conn = await connect(server.addr);
  try {
    const m = await within(recv(conn, { storeq: () => 'stream' }), 5000, 'the first message');
    const early = await within(
      recv(conn).catch((e: unknown) => e),
      5000,
      'the early second recv',
    );
    assert.equal((early as { code?: string }).code, 'BAD_STATE');
    assert.match(
      String(early),
      /payload stream was not read to its end: read it \(or destroy it, which skips its rest\) before the next recv/,
    );
    if (m.payload?.kind === 'stream') m.payload.stream.on('error', () => {});
    await conn.close();
    const late = await within(
      recv(conn).catch((e: unknown) => e),
      5000,
      'a recv after close',
    );
    assert.equal((late as { code?: string }).code, 'DISCONNECTED');
  } finally {
    await server.close();
  }
});
