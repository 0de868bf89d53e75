/**
 * Receiving from a hostile or broken receiver node (scripted fake nodes):
 * whatever it sends, bytes of a payload or a stream are never read as a
 * telegram, nothing crashes or hangs, and the connection is either at the
 * next message or closed.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeTelegram, Telegram } from '../../src/blather/index.ts';
import { type Connection, connect } from '../../src/conn/index.ts';
import { DdmwError } from '../../src/err.ts';
import {
  MsgError,
  messages,
  recv,
  type SubscriptionStatus,
  subscription,
} from '../../src/msg/index.ts';
import { within } from '../helpers/deadline.ts';
import { startFakeServer } from '../helpers/fake-server.ts';

/** The telegram a hostile sender hides in its bytes, as if it had been sent on channel 7. */
const FORGED = encodeTelegram(new Telegram('Msg', { _Ch: 7, XferId: 'forged', Len: 1 }));
const HONEST = Buffer.concat([
  encodeTelegram(new Telegram('Msg', { _Ch: 7, XferId: 'honest', Len: 2 })),
  Buffer.from('ok'),
]);

/** Connects to a fake node that writes `bytes` (then ends, with `end`); runs `work`; closes both. */
async function against<T>(
  bytes: Buffer | string,
  work: (c: Connection) => Promise<T>,
  { end = false } = {},
): Promise<T> {
  const server = await startFakeServer(({ socket }) => {
    if (end) socket.end(bytes);
    else socket.write(bytes);
  });
  const conn = await connect(server.addr);
  try {
    return await work(conn);
  } finally {
    await conn.close();
    await server.close();
  }
}

/** `recv` with a deadline; its result or its error. */
function settle(p: Promise<unknown>, what: string): Promise<unknown> {
  return within(
    p.catch((e: unknown) => e),
    5000,
    what,
  );
}

/** Neither outcome is a message the node hid in a payload. */
function notForged(...outcomes: unknown[]): void {
  for (const o of outcomes) {
    const id = (o as { xferId?: string } | undefined)?.xferId;
    assert.ok(!(o && typeof o === 'object' && 'kind' in o && id === 'forged'), 'a forged message');
  }
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ddmw-hostile-node-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a Msg header that does not parse', () => {
  it('a Cmd out of range: the message is skipped whole, the next one received', async () => {
    const header = `Msg\nCmd 4294967296\n_Ch 7\nXferId bad\nLen ${FORGED.length + 1}\n\n`;
    await against(
      Buffer.concat([Buffer.from(header), FORGED, Buffer.from('x'), HONEST]),
      async (c) => {
        const first = await settle(recv(c), 'the first recv');
        assert.ok(first instanceof MsgError, String(first));
        assert.equal(first.code, 'BLATHER');
        assert.equal(first.skipped, true);
        assert.deepEqual([first.xferId, first.cmd, first.ch], ['bad', undefined, '7']);
        assert.equal(c.isClosed, false);
        const second = await settle(recv(c), 'the second recv');
        assert.equal((second as { xferId?: string }).xferId, 'honest');
      },
    );
  });

  const unskippable = [
    'MetaLen -1',
    'Len 1e3',
    'Len -5',
    'Len 18446744073709551616',
    `MetaLen ${FORGED.length}\nLen ${2 ** 53 - 1}`,
  ];
  for (const bad of unskippable) {
    it(`${bad.replace('\n', ', ')}: the connection is closed, the rest never read as a telegram`, async () => {
      const header = `Msg\n_Ch 7\nXferId bad\n${bad}\n\n`;
      await against(
        Buffer.concat([Buffer.from(header), FORGED, Buffer.from('x'), HONEST]),
        async (c) => {
          const first = await settle(recv(c), 'the first recv');
          assert.ok(first instanceof MsgError, String(first));
          assert.equal(first.skipped, false);
          assert.equal(first.xferId, 'bad');
          assert.match(first.message, /could not be skipped; the connection was closed/);
          assert.equal(c.isClosed, true);
          const second = await settle(recv(c), 'the second recv');
          assert.ok(second instanceof DdmwError, `the next recv gave ${JSON.stringify(second)}`);
          notForged(second);
        },
      );
    });
  }

  it("a 10 GiB part received as 'bytes': BAD_PARAMS naming the limit, before any allocation", async () => {
    await against(
      `Msg\n_Ch 7\nXferId huge\nLen ${10 * 2 ** 30}\n\nonly a few bytes`,
      async (c) => {
        const err = await settle(recv(c, { storeq: () => 'bytes' }), 'recv of the 10 GiB message');
        assert.ok(err instanceof MsgError, String(err));
        assert.equal(err.code, 'BAD_PARAMS');
        assert.match(err.message, /10737418240-byte payload is over the 67108864-byte limit/);
        assert.equal(err.skipped, false, 'the node ended the connection during the skip');
      },
      { end: true },
    );
  });
});

describe('a stream that does not parse', () => {
  for (const streams of [false, true]) {
    it(`a Chunk length that does not parse closes the connection (streams: ${streams})`, async () => {
      const bytes = `Strm\n_Ch 42\nXferId s1\n\nChunk\nLen ${FORGED.length}x\n\n${FORGED}x`;
      await against(bytes, async (c) => {
        const first = await settle(recv(c, { streams }), 'the first recv');
        if (first && typeof first === 'object' && 'stream' in first) {
          const failed = settle(
            (async () => {
              for await (const _ of (first as { stream: AsyncIterable<unknown> }).stream);
            })(),
            'the broken stream',
          );
          assert.ok((await failed) instanceof DdmwError, 'the broken stream ended as if whole');
        } else {
          assert.ok(first instanceof DdmwError, String(first));
        }
        const second = await settle(recv(c, { streams }), 'the second recv');
        assert.ok(second instanceof DdmwError, `the next recv gave ${JSON.stringify(second)}`);
        notForged(second);
        assert.equal(c.isClosed, true);
      });
    });
  }

  it('a Strm header with a bad Cmd: the stream is skipped whole and reported; no crash', async () => {
    const stream = `Strm\n_Ch 42\nXferId s1\nCmd nope\n\nChunk\nLen ${FORGED.length}\n\n${FORGED}StrmEnd\nLen 0\nSha256 x\n\n`;
    await against(Buffer.concat([Buffer.from(stream), HONEST]), async (c) => {
      const first = await settle(recv(c, { streams: true }), 'the first recv');
      assert.ok(first instanceof MsgError && first.skipped, String(first));
      assert.equal(first.code, 'BLATHER');
      assert.equal(first.xferId, 's1');
      const second = await settle(recv(c, { streams: true }), 'the second recv');
      assert.equal((second as { xferId?: string }).xferId, 'honest');
    });
  });

  it('breaking out of messages({ streams: true }) skips the rest of the stream', async () => {
    const chunk = Buffer.alloc(64 * 1024, 1);
    const frames = [Buffer.from('Strm\n_Ch 42\nXferId s1\n\n')];
    for (let i = 0; i < 64; i++) frames.push(Buffer.from(`Chunk\nLen ${chunk.length}\n\n`), chunk);
    frames.push(Buffer.from('StrmAbort\nReason test\n\n'), HONEST);
    await against(Buffer.concat(frames), async (c) => {
      const loop = (async () => {
        for await (const item of messages(c, { streams: true })) {
          assert.equal(item.kind, 'stream');
          break;
        }
      })();
      await within(loop, 5000, 'the loop to end');
      const next = await settle(recv(c, { streams: true }), 'the recv after the loop');
      assert.equal((next as { xferId?: string }).xferId, 'honest');
    });
  });
});

describe('what storeq does', () => {
  it('an error it throws, whatever its code, skips the message and keeps the connection', async () => {
    const messagesOf = Buffer.concat([
      Buffer.from(`Msg\n_Ch 7\nXferId a\nLen ${FORGED.length}\n\n`),
      FORGED,
      HONEST,
    ]);
    await against(messagesOf, async (c) => {
      const first = await settle(
        recv(c, {
          storeq: () => {
            throw new DdmwError('TIMEOUT', 'storeq gave up');
          },
        }),
        'the first recv',
      );
      assert.ok(first instanceof MsgError && first.skipped, String(first));
      assert.equal(first.code, 'BAD_PARAMS');
      assert.match(first.message, /storeq refused the message: storeq gave up/);
      assert.equal(c.isClosed, false);
      assert.equal(
        ((await settle(recv(c), 'the second recv')) as { xferId?: string }).xferId,
        'honest',
      );
    });
  });

  it('changing the lengths it is shown cannot change how many bytes are read', async () => {
    const messagesOf = Buffer.concat([
      Buffer.from(`Msg\n_Ch 7\nXferId a\nLen ${FORGED.length}\n\n`),
      FORGED,
      HONEST,
    ]);
    await against(messagesOf, async (c) => {
      const first = await settle(
        recv(c, {
          storeq: (info) => {
            (info as { payloadLen: number }).payloadLen = 0;
            return 'bytes';
          },
        }),
        'the first recv',
      );
      assert.ok(first instanceof MsgError && first.skipped, String(first));
      assert.equal(
        ((await settle(recv(c), 'the second recv')) as { xferId?: string }).xferId,
        'honest',
      );
    });
  });

  for (const [what, choice] of [
    ['undefined', undefined],
    ['null', null],
    ['a misspelt key', { Payload: 'bytes' }],
    ['an unknown store', 'file'],
  ] as const) {
    it(`a choice of ${what} is refused (BAD_PARAMS), never taken as 'none'`, async () => {
      await against(
        Buffer.concat([Buffer.from('Msg\n_Ch 7\nXferId a\nLen 2\n\nab'), HONEST]),
        async (c) => {
          const first = await settle(recv(c, { storeq: () => choice as never }), 'the first recv');
          assert.ok(first instanceof MsgError && first.skipped, String(first));
          assert.equal(first.code, 'BAD_PARAMS');
          assert.equal(
            ((await settle(recv(c), 'the second recv')) as { xferId?: string }).xferId,
            'honest',
          );
        },
      );
    });
  }
});

describe('files', () => {
  const both = 'Msg\n_Ch 7\nXferId a\nMetaLen 4\nLen 7\n\nmetapayload';

  it('two paths that name the same file through a symbolic link are refused', async () => {
    const real = join(dir, 'real');
    await mkdir(real);
    await symlink(real, join(dir, 'link'));
    await against(both, async (c) => {
      const storeq = () => ({
        meta: { file: join(real, 'f') },
        payload: { file: join(dir, 'link', 'f') },
      });
      const err = await settle(recv(c, { storeq }), 'recv');
      assert.ok(err instanceof MsgError && err.skipped, String(err));
      assert.equal(err.code, 'BAD_PARAMS');
      assert.deepEqual(await readdir(real), []);
    });
  });

  it('the metadata file appears only once the payload is stored; an earlier file is kept otherwise', async () => {
    const meta = join(dir, 'meta-kept');
    await writeFile(meta, 'earlier');
    await against(both, async (c) => {
      const storeq = () => ({
        meta: { file: meta },
        payload: { file: join(dir, 'no-such-folder', 'p') },
      });
      const err = await settle(recv(c, { storeq }), 'recv');
      assert.ok(err instanceof MsgError && err.skipped, String(err));
      assert.equal(err.code, 'IO');
    });
    assert.equal(await readFile(meta, 'utf8'), 'earlier');
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.includes('meta-kept')),
      ['meta-kept'],
    );
  });
});

describe('a subscription to a node that keeps sending what cannot be skipped', () => {
  it('reports each message, subscribes again, and gives up after its retries', async () => {
    const server = await startFakeServer(async ({ socket, reader }) => {
      await reader.readTelegram(); // Sub
      socket.write(encodeTelegram(new Telegram('Ok')));
      socket.write(`Msg\n_Ch 7\nXferId bad\nLen -1\n\n${FORGED}`);
    });
    const statuses: SubscriptionStatus['type'][] = [];
    const loop = (async () => {
      for await (const _ of subscription(server.addr, {
        ch: 7,
        retries: 2,
        retryDelayMs: 0,
        onStatus: (s) => statuses.push(s.type),
      }));
    })();
    try {
      const err = await settle(loop, 'the subscription to give up');
      assert.ok(err instanceof DdmwError && err.code === 'DISCONNECTED', String(err));
      assert.match(err.message, /out of step by the node's data 3 times in a row/);
      assert.equal(statuses.filter((s) => s === 'skipped').length, 3);
      assert.equal(server.accepted, 3);
    } finally {
      await server.close();
    }
  });
});

describe('more streams and subscriptions', () => {
  it('a refused stream whose end does not parse is still skipped whole', async () => {
    const stream = 'Strm\n_Ch 7\nXferId s1\n\nChunk\nLen 3\n\nabcStrmEnd\nLen x\n\n';
    await against(Buffer.concat([Buffer.from(stream), HONEST]), async (c) => {
      const first = await settle(recv(c), 'the first recv');
      assert.ok(first instanceof MsgError && first.skipped, String(first));
      assert.equal(
        ((await settle(recv(c), 'the second recv')) as { xferId?: string }).xferId,
        'honest',
      );
    });
  });

  it('a node that goes away mid-message is a lost connection, retried as such, not bad data', async () => {
    let connections = 0;
    const server = await startFakeServer(async ({ socket, reader }) => {
      connections++;
      await reader.readTelegram(); // Sub
      socket.write(encodeTelegram(new Telegram('Ok')));
      if (connections <= 3) {
        socket.end(
          Buffer.concat([
            encodeTelegram(new Telegram('Msg', { _Ch: 7, XferId: 'cut', Len: 100 })),
            Buffer.alloc(10),
          ]),
        );
      } else socket.write(HONEST);
    });
    const statuses: string[] = [];
    try {
      const first = (async () => {
        for await (const m of subscription(server.addr, {
          ch: 7,
          retries: 1,
          retryDelayMs: 0,
          onStatus: (s) => statuses.push(s.type),
        })) {
          return m.xferId;
        }
      })();
      assert.equal(
        await within(first, 10_000, 'the message after three cut connections'),
        'honest',
      );
      assert.equal(statuses.filter((s) => s === 'lost').length, 3, statuses.join(','));
    } finally {
      await server.close();
    }
  });
});
