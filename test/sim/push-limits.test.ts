/** Queue limits of push targets on the receiver node, and the queueLimitBytes option. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { encodeTelegram, FrameReader, Telegram } from '../../src/blather/index.ts';
import { DdmwError } from '../../src/err.ts';
import { startSimulator } from '../../src/sim/index.ts';
import { rejectsCode } from '../helpers/errors.ts';
import { setup, until } from './limits-helpers.ts';
import { failOnUnhandledRejections, sendMsg } from './wire-client.ts';

failOnUnhandledRejections();

/** A push application that reads every pushed message but answers `Ok` only after `release()`. */
async function holdingApp() {
  const got: string[] = [];
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const sockets = new Set<Socket>();
  const server = createServer(async (socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    const reader = new FrameReader(socket);
    try {
      for (let tg = await reader.nextTelegram(); tg; tg = await reader.nextTelegram()) {
        await reader.skip(Number(tg.params.get('MetaLen')) + Number(tg.params.get('Len')));
        got.push(tg.params.getStr('XferId'));
        await released;
        socket.write(encodeTelegram(new Telegram('Ok')));
      }
    } catch (err) {
      if (!(err instanceof DdmwError)) throw err; // else the simulator closed the connection
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const addr = typeof address === 'object' && address ? `127.0.0.1:${address.port}` : '';
  const close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  return { got, addr, release, close };
}

describe('a push target', () => {
  it('drops, counts and logs a message that would exceed queueLimitBytes', async () => {
    const LIMIT = 256 * 1024;
    const app = await holdingApp();
    const t = await setup({ queueLimitBytes: LIMIT, push: [{ ch: 5, addr: app.addr }] });
    try {
      const snd = await t.sender();
      const ids: string[] = [];
      // 100 KiB each: the first is pushed (no reply yet), two wait, the next two would exceed the limit.
      for (let i = 0; i < 5; i++) {
        ids.push(await sendMsg(snd, { ch: 5, payload: randomBytes(100 * 1024) }));
        const routed = ids.length;
        await until(
          t.sim,
          `routing of message ${routed}`,
          () => t.sim.stats().transfersDelivered === routed,
        );
      }
      await until(t.sim, 'the first push', () => app.got.length === 1);
      assert.equal(t.sim.stats().pushesDropped, 2);
      for (const id of ids.slice(3)) {
        const line = t.log.find((l) => l.includes(`message ${id} dropped`)) ?? '';
        assert.match(
          line,
          /queue full: 2 messages of 204800 bytes waiting, 102400 more would exceed queueLimitBytes \(262144\)/,
        );
      }
      app.release();
      await until(t.sim, 'the acknowledgements', () => t.sim.stats().pushesAcked === 3);
      assert.deepEqual(app.got, ids.slice(0, 3));
    } finally {
      await t.stop();
      await app.close();
    }
  });
});

describe('option queueLimitBytes', () => {
  const invalid: [string, unknown][] = [
    ['zero', 0],
    ['a negative number', -1],
    ['a fraction', 1.5],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a string', '1024'],
  ];
  for (const [what, value] of invalid) {
    it(`rejects ${what}`, async () => {
      const err = await rejectsCode(
        startSimulator({ queueLimitBytes: value as number }),
        'BAD_INPUT',
      );
      assert.ok(err.message.includes('queueLimitBytes must be a positive integer'), err.message);
    });
  }
});
