/**
 * Request/reply helpers: the DDMW reply convention is `Ok` (its parameters
 * are the result) or `Fail` (its parameters describe the error). Every
 * request takes {@link RequestOptions}: a time limit and an `AbortSignal`.
 */
import { type Params, Telegram, telegramText } from '../blather/index.ts';
import { DdmwError } from '../err.ts';
import type { Connection, Exchange } from './connection.ts';
import type { RequestOptions } from './limits.ts';

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
 * the connection), end of data `DISCONNECTED`, and the `TIMEOUT` or
 * `ABORTED` error when the request was stopped while waiting.
 */
export function readOkFail(io: Exchange): Promise<Params> {
  return io.reader.readTelegram().then(
    (tg) => okParams(io, tg),
    (err: unknown) => {
      throw io.stopped ?? err;
    },
  );
}

/** The params of an `Ok` reply; any other reply throws (see {@link readOkFail}). */
function okParams(io: Exchange, tg: Telegram): Params {
  if (tg.topic === 'Ok') return tg.params;
  if (tg.topic === 'Fail') throw failError(tg);
  throw unexpectedReply(io, tg, 'Ok or Fail');
}

/** The `SERVER_ERROR` for a `Fail` telegram, carrying its parameters. */
export function failError(tg: Telegram): DdmwError {
  const reason = tg.params.get('Reason');
  // The other parameters, if any, follow the reason (which is not repeated).
  const others = [...tg.params.toMap()].filter(([k]) => k !== 'Reason');
  const rest = others.length === 0 ? '' : ` {${others.map(([k, v]) => `${k}=${v}`).join(',')}}`;
  return new DdmwError(
    'SERVER_ERROR',
    `Server replied Fail${reason === undefined ? '' : `: ${reason}`}${rest}`,
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

/**
 * Reads one `Ok`/`Fail` reply from the connection (see {@link readOkFail}),
 * within the time limit of `options`.
 */
export function expectOkFail(conn: Connection, options?: RequestOptions): Promise<Params> {
  return conn.exclusive(readOkFail, 'Waiting for Ok or Fail', options);
}

/**
 * Sends `tg` and returns the params of the `Ok` reply; `Fail` is a
 * `SERVER_ERROR`. `options` limits the time and can abort (see
 * {@link RequestOptions}).
 */
export function sendrecv(
  conn: Connection,
  tg: Telegram,
  options?: RequestOptions,
): Promise<Params> {
  let text: string;
  try {
    text = telegramText(tg);
  } catch (err) {
    return Promise.reject(err);
  }
  return request(conn, text, `${tg.topic} request`, options, (params) => params);
}

/**
 * Sends the request `text` and gives the params of its `Ok` reply to
 * `result` (see {@link readOkFail} for the other replies).
 */
function request<T>(
  conn: Connection,
  text: string,
  what: string,
  options: RequestOptions | undefined,
  result: (params: Params) => T,
): Promise<T> {
  return conn.request(text, (io, tg) => result(okParams(io, tg)), what, options);
}

/** `WhoAmI` has no parameters: it is encoded once. */
const WHOAMI = telegramText(new Telegram('WhoAmI'));

/** Asks the server which account owns this connection. `options`: see {@link RequestOptions}. */
export function whoami(conn: Connection, options?: RequestOptions): Promise<WhoAmI> {
  return request(conn, WHOAMI, 'WhoAmI request', options, toWhoAmI);
}

function toWhoAmI(reply: Params): WhoAmI {
  return { id: reply.getInt('Id'), name: reply.getStr('Name') };
}
