/**
 * Opening connections: TCP or Unix socket, an optional time limit and
 * `AbortSignal` covering the connect and the authentication, optional
 * authentication, and the default time limit of the connection's requests.
 * On any failure no socket is left open.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { type Auth, authenticate } from '../auth.ts';
import { DdmwError, toDdmwError } from '../err.ts';
import { formatProtAddr, type ProtAddr, toProtAddr } from './addr.ts';
import { Connection } from './connection.ts';
import { checkTimeoutMs, DEFAULT_REQUEST_TIMEOUT_MS } from './limits.ts';
import { type SocketSource, socketSource } from './socket-source.ts';

/** Options of {@link connect}. */
export interface ConnectOptions {
  /** Authenticate right after connecting; if that fails, the connect fails (and the socket is closed). */
  auth?: Auth;
  /** Time limit in milliseconds for connecting plus authenticating (`TIMEOUT` when exceeded). */
  timeoutMs?: number;
  /** Cancels the connect (`ABORTED`). Only the connect phase: it is not kept after `connect` resolves. */
  signal?: AbortSignal;
  /** Maximum length of a received line (default 64 KiB). */
  maxLineLength?: number;
  /**
   * Default time limit in milliseconds of each request on the connection
   * (default 30 s, {@link DEFAULT_REQUEST_TIMEOUT_MS}); a request's own
   * `timeoutMs` overrides it. It applies to every request (`whoami`,
   * `sendrecv`, the `auth` calls, `msg.subscribe`, `mgmt.acc`, each
   * acknowledgement of `msg.send` and of a stream), never to waiting for
   * the next message on a subscription. A request that runs out of time
   * rejects with `TIMEOUT`; see `RequestOptions` for when that closes the
   * connection.
   */
  requestTimeoutMs?: number;
  /**
   * Maximum number of parameter lines in a received telegram (default
   * 10,000; duplicate keys count). Beyond it the reply fails with `BLATHER`
   * and the connection is closed.
   */
  maxParams?: number;
  /**
   * Maximum size in bytes of a received telegram, from its topic to its
   * empty line (default 1 MiB). Beyond it the reply fails with `BLATHER`
   * and the connection is closed.
   */
  maxTelegramBytes?: number;
}

/** Opens the socket, reading into the lent buffer of a {@link SocketSource}. */
function openSocket(addr: ProtAddr): { socket: Socket; source: SocketSource } {
  const { source, onread } = socketSource();
  const socket =
    addr.kind === 'tcp'
      ? netConnect({ host: addr.host, port: addr.port, onread })
      : netConnect({ path: addr.path, onread });
  source.attach(socket);
  return { socket, source };
}

/**
 * Waits for the socket to connect; rejects with an `IO` error naming the
 * address, or `DISCONNECTED` when the socket is closed first without an
 * error (destroyed by an abort or the time limit, whose error the caller
 * reports instead).
 */
function whenConnected(socket: Socket, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(toDdmwError(err, `Cannot connect to ${address}`));
    const onClose = () =>
      reject(new DdmwError('DISCONNECTED', `Cannot connect to ${address}: the socket was closed`));
    socket.once('error', onError);
    socket.once('close', onClose);
    socket.once('connect', () => {
      socket.off('error', onError);
      socket.off('close', onClose);
      resolve();
    });
  });
}

/**
 * Connects to a DDMW client interface: `"host:port"`, `"[v6]:port"`, a Unix
 * socket path (any address containing `/`), or a parsed `ProtAddr`.
 */
export async function connect(
  addr: string | ProtAddr,
  options: ConnectOptions = {},
): Promise<Connection> {
  const pa = toProtAddr(addr);
  const address = formatProtAddr(pa);
  const { signal, timeoutMs } = options;
  if (signal?.aborted) throw abortError(address, signal.reason);
  if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs >= 0)) {
    throw new DdmwError('BAD_PARAMS', `timeoutMs must be a non-negative number, got ${timeoutMs}`);
  }
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  checkTimeoutMs('requestTimeoutMs', requestTimeoutMs);
  const { socket, source } = openSocket(pa);
  // The first of: abort, time limit. Either destroys the socket, which fails whatever is pending.
  let stopped: DdmwError | undefined;
  const stop = (err: DdmwError) => {
    stopped ??= err;
    socket.destroy();
  };
  const onAbort = () => stop(abortError(address, signal?.reason));
  signal?.addEventListener('abort', onAbort, { once: true });
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(
          () =>
            stop(
              new DdmwError('TIMEOUT', `Connecting to ${address} took longer than ${timeoutMs} ms`),
            ),
          timeoutMs,
        );
  try {
    await whenConnected(socket, address);
    const { maxLineLength, maxParams, maxTelegramBytes } = options;
    const conn = new Connection(socket, pa, {
      maxLineLength,
      maxParams,
      maxTelegramBytes,
      source,
      requestTimeoutMs,
    });
    if (options.auth) await authenticate(conn, options.auth);
    if (stopped) throw stopped;
    return conn;
  } catch (err) {
    socket.destroy();
    throw stopped ?? err;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

function abortError(address: string, reason: unknown): DdmwError {
  return new DdmwError('ABORTED', `Connecting to ${address} was aborted`, { cause: reason });
}
