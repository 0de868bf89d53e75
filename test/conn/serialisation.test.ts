/**
 * `Connection.exclusive` runs one exchange at a time even for callers that
 * arrive late: while an exchange runs, and exactly as one ends (in the
 * settle callbacks of its promise, in a microtask queued from inside it).
 *
 * Mutation these tests catch: `#release` in src/conn/connection.ts that
 * releases the lock before handing it on (`#locked = false`, then `next()`).
 * The waiter it wakes then runs without the lock, and the next late caller
 * finds the connection free and starts a second exchange beside it. A test
 * that queues every caller up front cannot see this: nobody calls while the
 * lock is wrongly free.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeTelegram, Telegram } from '../../src/blather/index.ts';
import { type Connection, connect } from '../../src/conn/index.ts';
import { readOkFail } from '../../src/conn/request.ts';
import { closedAfterFile } from '../helpers/closed-after.ts';
import { within } from '../helpers/deadline.ts';
import type { FakeServer } from '../helpers/fake-server.ts';

const { fake } = closedAfterFile();

/** Answers every request `Ok` with its `N` echoed as `Echo`. */
function echoServer(): Promise<FakeServer> {
  return fake(async ({ socket, reader }) => {
    for (;;) {
      const tg = await reader.nextTelegram();
      if (!tg) return;
      socket.write(encodeTelegram(new Telegram('Ok', { Echo: tg.params.getStr('N') })));
    }
  });
}

/** Real request/reply exchanges on one connection, counting how many run at once. */
class Tracker {
  active = 0;
  maxActive = 0;
  /** Exchange numbers in the order they started. */
  readonly started: number[] = [];
  /** Exchange numbers in the order `exclusive` was called. */
  readonly called: number[] = [];
  /** Each exchange's result, by number. */
  readonly replies = new Map<number, Promise<string>>();
  constructor(readonly conn: Connection) {}

  /** Calls `exclusive` for exchange `n`; `during` runs inside it, after the request is written. */
  call(n: number, during?: () => void): Promise<string> {
    this.called.push(n);
    const reply = this.conn.exclusive(async (io) => {
      this.active++;
      this.maxActive = Math.max(this.maxActive, this.active);
      this.started.push(n);
      try {
        io.writeRequest(`Ping\nN ${n}\n\n`);
        during?.();
        return (await readOkFail(io)).getStr('Echo');
      } finally {
        this.active--;
      }
    });
    this.replies.set(n, reply);
    return reply;
  }

  /** Waits until the calls (and the calls they make) have settled. */
  async #settled(): Promise<void> {
    for (let seen = -1; seen !== this.replies.size; ) {
      seen = this.replies.size;
      await Promise.allSettled(this.replies.values());
    }
  }

  /** Waits for every call, then checks: no overlap, call order kept, each its own reply. */
  async check(count: number): Promise<void> {
    await within(this.#settled(), 5000, `${count} exchanges`);
    assert.equal(this.maxActive, 1, 'two exchanges ran on the connection at once');
    assert.equal(this.called.length, count);
    assert.deepEqual(this.started, this.called, 'exchanges start in call order');
    for (const [n, reply] of this.replies) assert.equal(await reply, String(n));
  }
}

describe('exclusive with late callers', () => {
  it('a caller arriving while an exchange runs waits for it, and for the one handed the lock', async () => {
    const conn = await connect((await echoServer()).addr);
    const t = new Tracker(conn);
    // 0 runs; 1 arrives during 0 (and is handed the lock); 2 arrives during 1.
    t.call(0, () => t.call(1, () => t.call(2)));
    await t.check(3);
    await conn.close();
  });

  it('callers arriving exactly as an exchange ends wait for the one handed the lock', async () => {
    const conn = await connect((await echoServer()).addr);
    const t = new Tracker(conn);
    // Each exchange n is followed by a caller already waiting (n + 1, handed
    // the lock at n's end) and late callers: one in n's settle callback, one
    // in a microtask queued from inside n as it returns, one in a
    // microtask after n's promise settled.
    const ROUNDS = 6;
    const chain = (n: number): void => {
      if (n >= ROUNDS) return;
      const p = t.call(4 * n + 1, () => queueMicrotask(() => t.call(4 * n + 2)));
      p.finally(() => {
        t.call(4 * n + 3);
        queueMicrotask(() => {
          t.call(4 * n + 4);
          chain(n + 1);
        });
      });
    };
    t.call(0);
    chain(0);
    await t.check(4 * ROUNDS + 1);
    await conn.close();
  });
});
