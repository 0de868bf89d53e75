/**
 * A resubscribing receiver: an async iterable of messages that connects,
 * authenticates and subscribes, and does it all again after a lost
 * connection, up to a number of retries with a delay between attempts.
 *
 * Only connection-level failures are retried (a refused or lost connection,
 * a timeout, data from the node that put the connection out of step). A
 * message that cannot be received as asked is reported and skipped; the
 * subscription goes on. A refusal by the node (wrong credentials, no
 * permission) ends the iteration at once: retrying would not change the
 * answer.
 */
import type { Auth } from '../auth.ts';
import type { Config } from '../conf.ts';
import type { ProtAddr } from '../conn/addr.ts';
import { connect } from '../conn/connect.ts';
import type { Connection } from '../conn/connection.ts';
import { DdmwError, toDdmwError } from '../err.ts';
import type { AppChannel } from '../types.ts';
import { messages, warnSkipped } from './loop.ts';
import { MsgError } from './msg-error.ts';
import { type RecvOptions, subscribe } from './recv.ts';
import type { Msg } from './types.ts';

/** Default number of resubscribe attempts after a lost connection. */
export const DEFAULT_RETRIES = 5;
/** Default delay between resubscribe attempts. */
export const DEFAULT_RETRY_DELAY_MS = 1000;

/** What the subscription is doing, for logs and dashboards. */
export type SubscriptionStatus =
  | {
      /** Subscribed (again). */
      type: 'subscribed';
      /** Failed attempts in a row before this one (0 on a first success). */
      attempt: number;
    }
  | {
      /** The connection was lost or could not be made. */
      type: 'lost';
      /** Why. */
      error: DdmwError;
    }
  | {
      /**
       * A message arrived but could not be received as asked, and was
       * skipped (or, when `error.skipped` is false, its connection was
       * closed: a `lost` status and a resubscription follow).
       */
      type: 'skipped';
      /** Why, with the message's transfer id, command and channel. */
      error: MsgError;
      /** Messages this subscription has skipped so far. */
      skipped: number;
    }
  | {
      /** About to wait `delayMs` and try again. */
      type: 'retrying';
      /** Number of this retry, from 1. */
      attempt: number;
      /** Most retries allowed. */
      of: number;
      /** Wait before this retry, in milliseconds. */
      delayMs: number;
    };

/**
 * Options of {@link subscription}. Streams are not received here (a stream
 * that arrives is skipped and reported as a `skipped` status): use
 * `messages` with `streams: true`.
 */
export interface SubscriptionOptions extends Omit<RecvOptions, 'streams'> {
  /** Channel to subscribe to. Default: `config.getAppCh()`. */
  ch?: AppChannel;
  /** Credentials. Default: `config.auth`. */
  auth?: Auth;
  /** Resubscribe attempts after a lost connection (default `config.receiver.subRetries`, else 5). */
  retries?: number;
  /** Delay between attempts (default `config.receiver.subRetryDelayMs`, else 1000 ms). */
  retryDelayMs?: number;
  /** Time limit for each connect + authenticate. */
  connectTimeoutMs?: number;
  /** Ends the subscription (quietly) and closes its connection. */
  signal?: AbortSignal;
  /** A loaded `ddmwapp.toml`, for the defaults above. */
  config?: Config;
  /**
   * Told about each (re)subscription, loss, retry and skipped message.
   * Without it, a skipped message is reported as a process warning (code
   * `DDMW_MSG_SKIPPED`).
   */
  onStatus?: (status: SubscriptionStatus) => void;
}

/** A lost connection: subscribe again. */
const RETRYABLE = new Set(['DISCONNECTED', 'IO', 'TIMEOUT']);
/** The node sent data that cannot be received (the connection was closed): subscribe again, a limited number of times. */
const BAD_DATA = new Set(['BLATHER', 'BAD_STATE']);

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  // Aborted already (by an onStatus handler, say): an abort event would never come.
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

function resolveOptions(options: SubscriptionOptions) {
  const cfg = options.config;
  const ch = options.ch ?? cfg?.getAppCh();
  if (ch === undefined) {
    throw new DdmwError(
      'BAD_PARAMS',
      'No channel to subscribe to: pass ch, or a config with a channel',
    );
  }
  const retries = options.retries ?? cfg?.receiver?.subRetries ?? DEFAULT_RETRIES;
  const retryDelayMs =
    options.retryDelayMs ?? cfg?.receiver?.subRetryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
  if (!Number.isInteger(retries) || retries < 0) {
    throw new DdmwError('BAD_PARAMS', `retries must be a non-negative integer, got ${retries}`);
  }
  if (!(retryDelayMs >= 0)) {
    throw new DdmwError(
      'BAD_PARAMS',
      `retryDelayMs must be a non-negative number, got ${retryDelayMs}`,
    );
  }
  return { ch, retries, retryDelayMs, auth: options.auth ?? cfg?.auth };
}

/**
 * Subscribes to `ch` at `addr` (a receiver node's subscription interface)
 * and yields its messages, resubscribing after a lost connection. The
 * retry count starts again after every successful subscription. A
 * connection the node's data put out of step (a message that could not be
 * skipped, a malformed telegram) is lost too; but after `retries` such
 * losses in a row with no message received in between, the subscription
 * gives up. When the retries run out, the iteration fails with
 * `DISCONNECTED`, whose `cause` is the last error. Breaking out of the loop
 * closes the connection.
 */
export async function* subscription(
  addr: string | ProtAddr,
  options: SubscriptionOptions = {},
): AsyncGenerator<Msg> {
  const { ch, retries, retryDelayMs, auth } = resolveOptions(options);
  const { signal, onStatus } = options;
  let failures = 0;
  /** Connections in a row that the node's data put out of step, with no message received. */
  let badData = 0;
  let skipped = 0;
  const reportSkipped = (error: MsgError) => {
    skipped++;
    if (onStatus) onStatus({ type: 'skipped', error, skipped });
    else warnSkipped(error, skipped);
  };
  for (;;) {
    let conn: Connection | undefined;
    let lost: DdmwError;
    try {
      conn = await connect(addr, { auth, timeoutMs: options.connectTimeoutMs, signal });
      await subscribe(conn, ch, { signal });
      onStatus?.({ type: 'subscribed', attempt: failures });
      failures = 0;
      for await (const m of messages(conn, {
        ...options,
        streams: false,
        onSkipped: reportSkipped,
      })) {
        badData = 0;
        yield m;
      }
      return; // messages() only ends by itself when signal aborted
    } catch (err) {
      if (signal?.aborted) return;
      lost = toDdmwError(err);
      // A message that could not be skipped closed the connection: report it too.
      if (lost instanceof MsgError) reportSkipped(lost);
      if (RETRYABLE.has(lost.code)) {
        // a lost connection, also in the middle of a message
      } else if (lost instanceof MsgError || BAD_DATA.has(lost.code)) badData++;
      else throw lost;
      onStatus?.({ type: 'lost', error: lost });
    } finally {
      await conn?.close();
    }
    failures++;
    const where = `Subscription to channel ${ch} at ${typeof addr === 'string' ? addr : JSON.stringify(addr)}`;
    if (badData > retries) {
      throw new DdmwError(
        'DISCONNECTED',
        `${where} was put out of step by the node's data ${badData} times in a row without a message (retries: ${retries}): ${lost.message}`,
        { cause: lost },
      );
    }
    if (failures > retries) {
      throw new DdmwError(
        'DISCONNECTED',
        `${where} failed ${failures} times in a row (retries: ${retries}): ${lost.message}`,
        { cause: lost },
      );
    }
    onStatus?.({ type: 'retrying', attempt: failures, of: retries, delayMs: retryDelayMs });
    await sleep(retryDelayMs, signal);
    if (signal?.aborted) return;
  }
}
