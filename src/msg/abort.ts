/**
 * Cancelling an operation on a connection. A half-done exchange cannot be
 * taken back, so an abort closes the connection: the peer sees the
 * connection drop and discards what it had of the exchange.
 */
import type { Connection } from '../conn/connection.ts';
import { DdmwError } from '../err.ts';

/** Runs `fn`; if `signal` aborts meanwhile, closes `conn` and rejects with `ABORTED`. */
export async function closeOnAbort<T>(
  conn: Connection,
  signal: AbortSignal | undefined,
  what: string,
  fn: () => Promise<T>,
): Promise<T> {
  if (!signal) return fn();
  const aborted = () =>
    new DdmwError('ABORTED', `${what} was aborted; the connection was closed`, {
      cause: signal.reason,
    });
  if (signal.aborted) throw aborted();
  const onAbort = () => conn.fail(aborted());
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await fn();
  } catch (err) {
    throw signal.aborted ? aborted() : err;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
