/**
 * Time limits and cancellation of requests: the options every request
 * function takes, their checks, and the errors a stopped request rejects with.
 */
import { DdmwError } from '../err.ts';

/**
 * Default time limit of a request, in milliseconds (30 s), when neither the
 * request's `timeoutMs` nor the connection's `requestTimeoutMs` is given.
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** The last argument of every request function (`whoami`, `sendrecv`, `mgmt.acc.rd`, ...). */
export interface RequestOptions {
  /**
   * Time limit in milliseconds, counted from the call (time spent waiting
   * behind earlier calls on the connection counts). Default: the
   * connection's `requestTimeoutMs` (30 s unless set at connect). A request
   * that runs out of time while waiting for its reply rejects with
   * `TIMEOUT` and closes the connection (a late reply would put it out of
   * step); one that runs out while still waiting its turn rejects with
   * `TIMEOUT` and leaves the connection open (nothing was sent).
   */
  timeoutMs?: number;
  /**
   * Cancels the request (`ABORTED`). Before the request was sent the
   * connection stays open; after, it is closed, for the same reason as a
   * timeout.
   */
  signal?: AbortSignal;
}

/** Checks a time limit: a non-negative finite number of milliseconds, else `BAD_PARAMS`. */
export function checkTimeoutMs(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new DdmwError(
      'BAD_PARAMS',
      `${name} must be a non-negative finite number of milliseconds, got ${String(value)}`,
    );
  }
}

/** `TIMEOUT` for a request that got no (complete) reply in time; the connection was closed. */
export function replyTimeout(what: string, address: string, ms: number): DdmwError {
  return new DdmwError(
    'TIMEOUT',
    `${what}: no reply from ${address} within ${ms} ms; the connection was closed (a late reply would put it out of step). Raise the time limit (timeoutMs, or requestTimeoutMs when connecting) if the node is slow`,
  );
}

/** `TIMEOUT` for a request that ran out of time before its turn came; nothing was sent. */
export function queueTimeout(what: string, address: string, ms: number): DdmwError {
  return new DdmwError(
    'TIMEOUT',
    `${what}: still waiting after ${ms} ms for the connection to ${address}, busy with an earlier call (a slow request, an open stream or a wait for a message), so it was not sent. Raise the time limit, or do not queue requests behind streams and subscriptions`,
  );
}

/** `ABORTED` for a cancelled request; `sent` tells whether it was sent (and the connection so closed). */
export function requestAborted(
  what: string,
  address: string,
  sent: boolean,
  reason: unknown,
): DdmwError {
  const outcome = sent
    ? '; the connection was closed (a late reply would put it out of step)'
    : ' before it was sent';
  return new DdmwError('ABORTED', `${what} to ${address} was aborted${outcome}`, {
    cause: reason,
  });
}
