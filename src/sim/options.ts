/**
 * The message-flow options of the simulator (link, queues, push targets):
 * their types, defaults and checks.
 */
import { DdmwError } from '../err.ts';
import { type LinkOptions, type LinkSettings, linkSettings } from './link/settings.ts';
import { parseChannel } from './node/channels.ts';
import { CommandFailed } from './node/session.ts';
import { parsePushAddress } from './receiver/push.ts';

/** A push target: the receiver node pushes every message of `ch` to `addr`. */
export interface PushOptions {
  /** Channel: a number 0..255 or a name. */
  ch: number | string;
  /** The application's address: `host:port`, `[v6]:port` or a Unix socket path (contains `/`). */
  addr: string;
}

/** The message-flow options, checked and with their defaults filled in. */
export interface FlowSettings {
  /** The one-way link. */
  link: LinkSettings;
  /** Bound of each subscriber's and push target's queue, in messages. */
  queueLimit: number;
  /** Bound of each subscriber's and push target's queue, in bytes (see receiver/queue-limits.ts). */
  queueLimitBytes: number;
  /** Wait before a push target is connected again. */
  pushReconnectDelayMs: number;
  /** Push targets, with canonical channels. */
  push: { channel: string; addr: string }[];
}

/** Default bound of a subscriber's or push target's queue. */
export const DEFAULT_QUEUE_LIMIT = 10_000;
/** Default bound of a subscriber's or push target's queue in bytes (256 MiB). */
export const DEFAULT_QUEUE_LIMIT_BYTES = 256 * 1024 * 1024;
/** Default wait before a push target is connected again. */
export const DEFAULT_PUSH_RECONNECT_DELAY_MS = 500;

function bad(option: string, why: string, value: unknown): DdmwError {
  return new DdmwError('BAD_INPUT', `Simulator option ${option} ${why}, got ${String(value)}`);
}

/** What a number option must be besides positive. */
type NumberKind = 'integer' | 'finite' | 'any';

function positive(
  option: string,
  value: number | undefined,
  def: number,
  kind: NumberKind,
): number {
  if (value === undefined) return def;
  const shaped =
    kind === 'integer'
      ? Number.isSafeInteger(value)
      : kind === 'finite'
        ? Number.isFinite(value)
        : true;
  if (typeof value !== 'number' || !shaped || !(value > 0)) {
    throw bad(option, `must be a positive ${kind === 'integer' ? 'integer' : 'number'}`, value);
  }
  return value;
}

function pushChannel(index: number, ch: unknown): string {
  const option = `push[${index}].ch`;
  if (typeof ch === 'number' && !(Number.isInteger(ch) && ch >= 0 && ch <= 255)) {
    throw bad(option, 'must be a number from 0 to 255 or a name', ch);
  }
  if (typeof ch !== 'number' && typeof ch !== 'string')
    throw bad(option, 'must be a number or a name', ch);
  try {
    return parseChannel(String(ch));
  } catch (err) {
    if (err instanceof CommandFailed) throw bad(option, err.message.toLowerCase(), ch);
    throw err;
  }
}

/** Checks the message-flow options and fills in defaults. Throws `BAD_INPUT`. */
export function flowSettings(opts: {
  link?: LinkOptions;
  queueLimit?: number;
  queueLimitBytes?: number;
  pushReconnectDelayMs?: number;
  push?: PushOptions[];
}): FlowSettings {
  return {
    link: linkSettings(opts.link),
    queueLimit: positive('queueLimit', opts.queueLimit, DEFAULT_QUEUE_LIMIT, 'integer'),
    queueLimitBytes: positive(
      'queueLimitBytes',
      opts.queueLimitBytes,
      DEFAULT_QUEUE_LIMIT_BYTES,
      'integer',
    ),
    pushReconnectDelayMs: positive(
      'pushReconnectDelayMs',
      opts.pushReconnectDelayMs,
      DEFAULT_PUSH_RECONNECT_DELAY_MS,
      'finite',
    ),
    push: (opts.push ?? []).map((target, index) => {
      const channel = pushChannel(index, target.ch);
      if (typeof target.addr !== 'string')
        throw bad(`push[${index}].addr`, 'must be a string', target.addr);
      parsePushAddress(target.addr);
      return { channel, addr: target.addr };
    }),
  };
}
