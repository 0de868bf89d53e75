/**
 * Fake servers for time limit tests, on top of the scripted fake server: one
 * that records each request and answers only when the test says so (or
 * never), and one that answers a byte at a time.
 */
import type { Socket } from 'node:net';
import { encodeTelegram, Telegram } from '../../src/blather/index.ts';
import { within } from './deadline.ts';
import { type FakeServer, startFakeServer } from './fake-server.ts';

/** The reply of the held server: what `whoami` expects. */
export const OK_REPLY = new Telegram('Ok', { Id: 5, Name: 'frank' });

/** A server that records requests and answers only when told. */
export interface HeldServer {
  readonly addr: string;
  readonly fake: FakeServer;
  /** The requests received so far, on every connection. */
  readonly received: Telegram[];
  /** Waits (at most `ms`) until `count` requests have arrived; fails naming `what`. */
  arrived(count: number, what: string, ms?: number): Promise<void>;
  /** Answers on the connection that sent the latest request. */
  answer(tg?: Telegram): void;
  close(): Promise<void>;
}

export async function startHeldServer(): Promise<HeldServer> {
  const received: Telegram[] = [];
  const wakers = new Set<() => void>();
  let last: Socket | undefined;
  const fake = await startFakeServer(async ({ socket, reader }) => {
    try {
      for (;;) {
        const tg = await reader.nextTelegram();
        if (!tg) break;
        received.push(tg);
        last = socket;
        for (const wake of wakers) wake();
      }
    } catch {
      // the client went away mid-request
    }
    socket.destroy();
  });
  return {
    addr: fake.addr,
    fake,
    received,
    arrived(count, what, ms = 5000) {
      let wake = () => {};
      const enough = new Promise<void>((resolve) => {
        wake = () => {
          if (received.length >= count) resolve();
        };
        wakers.add(wake);
        wake();
      });
      return within(enough, ms, `${what} (${count} requests; ${received.length} arrived)`).finally(
        () => wakers.delete(wake),
      );
    },
    answer(tg = OK_REPLY) {
      if (!last) throw new Error('answer(): no request has arrived yet');
      last.write(encodeTelegram(tg));
    },
    close: () => fake.close(),
  };
}

/**
 * A server that answers each request with `reply`, one byte every
 * `intervalMs`: the bytes keep coming, but the reply takes long to complete.
 */
export function startDripServer(reply: Telegram, intervalMs: number): Promise<FakeServer> {
  const bytes = encodeTelegram(reply);
  return startFakeServer(async ({ socket, reader }) => {
    await reader.readTelegram();
    let at = 0;
    const timer = setInterval(() => {
      if (at < bytes.length) socket.write(bytes.subarray(at, ++at));
    }, intervalMs);
    socket.once('close', () => clearInterval(timer));
  });
}
