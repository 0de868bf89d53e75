/**
 * Request/reply helpers: the DDMW reply convention is `Ok` (its parameters
 * are the result) or `Fail` (its parameters describe the error).
 */
import { type Params, Telegram } from '../blather/index.ts';
import { DdmwError } from '../err.ts';
import type { Connection, Exchange } from './connection.ts';

/** The owner of a connection, as reported by `WhoAmI`. */
export interface WhoAmI {
  /** Account id (the built-in unauthenticated account has its own id). */
  id: number;
  /** Account name. */
  name: string;
}

/**
 * Reads one reply inside an exchange: `Ok` gives its params, `Fail` a
 * `SERVER_ERROR` carrying the params, anything else `BAD_STATE` (which closes
 * the connection), end of data `DISCONNECTED`.
 */
export async function readOkFail(io: Exchange): Promise<Params> {
  const tg = await io.reader.readTelegram();
  if (tg.topic === 'Ok') return tg.params;
  if (tg.topic === 'Fail') throw failError(tg);
  throw unexpectedReply(io, tg, 'Ok or Fail');
}

/** The `SERVER_ERROR` for a `Fail` telegram, carrying its parameters. */
export function failError(tg: Telegram): DdmwError {
  const reason = tg.params.get('Reason');
  return new DdmwError(
    'SERVER_ERROR',
    `Server replied Fail${reason === undefined ? '' : `: ${reason}`} ${tg.params.toString()}`,
    { params: tg.params.toMap() },
  );
}

/**
 * A `BAD_STATE` error for a telegram that is not what the exchange expects.
 * What follows it on the wire cannot be trusted, so the connection is closed.
 */
export function unexpectedReply(io: Exchange, tg: Telegram, expected: string): DdmwError {
  return io.fail(
    new DdmwError(
      'BAD_STATE',
      `Unexpected reply from server: expected ${expected}, got "${tg.topic}"`,
    ),
  );
}

/** Reads one `Ok`/`Fail` reply from the connection (see {@link readOkFail}). */
export function expectOkFail(conn: Connection): Promise<Params> {
  return conn.exclusive((io) => readOkFail(io));
}

/** Sends `tg` and returns the params of the `Ok` reply; `Fail` is a `SERVER_ERROR`. */
export function sendrecv(conn: Connection, tg: Telegram): Promise<Params> {
  return conn.exclusive(async (io) => {
    await io.writeTelegram(tg);
    return readOkFail(io);
  });
}

/** Asks the server which account owns this connection. */
export async function whoami(conn: Connection): Promise<WhoAmI> {
  const reply = await sendrecv(conn, new Telegram('WhoAmI'));
  return { id: reply.getInt('Id'), name: reply.getStr('Name') };
}
