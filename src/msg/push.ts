/**
 * Push receiver: the application listens (the `push-listenif` config key)
 * and the receiver node connects to it and pushes messages, each a `Msg`
 * telegram followed by its metadata and payload, as on a subscription.
 *
 * After each message the application answers `Ok` once it has handled it
 * (or `Fail` with a `Reason` when the handler threw), and only then is the
 * next message read from that connection: a slow application slows the node
 * down instead of piling messages up. (The acknowledgement is our choice: the
 * real push protocol is unknown, see docs/assumptions.md.)
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Telegram } from '../blather/index.ts';
import { formatProtAddr, type ProtAddr, toProtAddr } from '../conn/addr.ts';
import { Connection } from '../conn/connection.ts';
import { toDdmwError } from '../err.ts';
import { type OnSkipped, warnSkipped } from './loop.ts';
import { MsgError } from './msg-error.ts';
import { type RecvOptions, recv } from './recv.ts';
import type { Msg } from './types.ts';

/** Options of {@link listenPush}. */
export interface PushOptions extends Omit<RecvOptions, 'streams'> {
  /**
   * Handles each message; the node gets `Ok` when it resolves, `Fail` when
   * it throws. Without `onMsg`, iterate over the listener instead.
   */
  onMsg?: (msg: Msg) => void | Promise<void>;
  /** Told about connections that end with an error (the listener goes on). */
  onError?: (err: Error) => void;
  /**
   * Told of each message that arrived but could not be received as asked;
   * it was skipped and the node got `Fail` for it. Default: a process
   * warning (code `DDMW_MSG_SKIPPED`).
   */
  onSkipped?: OnSkipped;
}

/** A `Fail` reply telling the node why: one line, whatever the error says. */
function failReply(err: unknown): Telegram {
  const reason = err instanceof Error ? err.message : String(err);
  return new Telegram('Fail', { Reason: reason.replace(/[\r\n]+/g, ' ') });
}

/** A listening push receiver. Iterable when no `onMsg` was given. */
export interface PushListener extends AsyncIterable<Msg> {
  /** The address it listens on (with the real port when 0 was asked). */
  readonly address: string;
  /** Stops listening and closes every pushing connection; ends the iteration. */
  close(): Promise<void>;
}

/** A received message waiting for the iterating consumer, and its acknowledgement. */
interface Pending {
  msg: Msg;
  ack: (err?: unknown) => void;
}

function listen(server: Server, addr: ProtAddr): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (err) =>
      reject(toDdmwError(err, `Cannot listen on ${formatProtAddr(addr)}`)),
    );
    if (addr.kind === 'tcp') server.listen(addr.port, addr.host, resolve);
    else server.listen(addr.path, resolve);
  });
}

function boundAddress(server: Server, addr: ProtAddr): string {
  const a = server.address();
  if (addr.kind === 'uds' || a === null || typeof a === 'string') return formatProtAddr(addr);
  return formatProtAddr({ kind: 'tcp', host: addr.host, port: a.port });
}

/** Starts listening for pushes on `addr` (`host:port` or a Unix socket path). */
export async function listenPush(
  addr: string | ProtAddr,
  options: PushOptions = {},
): Promise<PushListener> {
  const pa = toProtAddr(addr);
  const connections = new Set<Connection>();
  const queue: Pending[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  let skipped = 0;
  const onSkipped = options.onSkipped ?? warnSkipped;

  // The next message of a pushing connection; one that is skipped is reported and refused.
  const next = async (conn: Connection): Promise<Msg> => {
    for (;;) {
      try {
        return await recv(conn, { ...options, streams: false });
      } catch (err) {
        if (!(err instanceof MsgError && err.skipped)) throw err;
        onSkipped(err, ++skipped);
        const reply = failReply(err);
        await conn.exclusive((io) => io.writeTelegram(reply));
      }
    }
  };

  // Delivers one message: to onMsg, or to the iterator (resolving once the consumer is done with it).
  const deliver = (msg: Msg): Promise<void> => {
    if (options.onMsg) return Promise.resolve(options.onMsg(msg));
    return new Promise<void>((resolve, reject) => {
      queue.push({ msg, ack: (err) => (err === undefined ? resolve() : reject(err)) });
      wake?.();
    });
  };

  const serve = async (socket: Socket) => {
    const conn = new Connection(socket, pa);
    connections.add(conn);
    try {
      for (;;) {
        const msg = await next(conn);
        let reply = new Telegram('Ok');
        try {
          await deliver(msg);
        } catch (err) {
          reply = failReply(err);
        }
        await conn.exclusive((io) => io.writeTelegram(reply));
      }
    } catch (err) {
      const e = toDdmwError(err);
      if (!closed && e.code !== 'DISCONNECTED') options.onError?.(e);
    } finally {
      connections.delete(conn);
      await conn.close();
    }
  };

  const server = createServer((socket) => {
    serve(socket);
  });
  await listen(server, pa);
  const address = boundAddress(server, pa);

  async function* iterate(): AsyncGenerator<Msg> {
    let current: Pending | undefined;
    try {
      for (;;) {
        current?.ack();
        current = undefined;
        while (queue.length === 0) {
          if (closed) return;
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
        current = queue.shift() as Pending;
        yield current.msg;
      }
    } finally {
      current?.ack();
    }
  }

  return {
    address,
    async close() {
      if (closed) return;
      closed = true;
      wake?.();
      for (const p of queue.splice(0)) p.ack(new Error('push listener closed'));
      await Promise.all([...connections].map((c) => c.close()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    [Symbol.asyncIterator]: iterate,
  };
}
