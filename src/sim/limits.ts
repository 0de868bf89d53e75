/**
 * The limits a simulated node enforces against misbehaving clients:
 * connections, logins, stalled requests and message sizes. Their options,
 * defaults and checks; docs/simulator.md (Limits) describes their effect.
 */
import { DdmwError } from '../err.ts';

/** Options of the limits; every field is optional. */
export interface LimitOptions {
  /**
   * Connections one interface keeps open. At the limit, a new one takes the
   * place of the oldest one not logged in, or is closed at once. Default 256.
   */
  maxConnections?: number;
  /** A connection not logged in for this long (since it connected or sent `Unauth`) is closed. Default 30000. */
  loginTimeoutMs?: number;
  /** A request whose bytes stop arriving for this long closes its connection. Default 30000. */
  stallTimeoutMs?: number;
  /** Passphrase checks (scrypt) running at once, for the whole simulator. Default 1. */
  passwordChecks?: number;
  /** Passphrase checks waiting for their turn; beyond, an `Auth` is refused without a check. Default 64. */
  passwordQueue?: number;
  /** Wait before the `Fail` of a first failed `Auth`; it doubles with each failure. Default 100 (0: none). */
  authFailDelayMs?: number;
  /** Longest wait before the `Fail` of a failed `Auth`. Default 2000. */
  authFailDelayMaxMs?: number;
  /** Largest message, metadata and payload together (also bounded by `link.maxTransferBytes`). Default 16 GiB. */
  maxMessageBytes?: number;
  /** Free bytes the spool leaves on its file system: a larger `Msg` is refused. Default 64 MiB. */
  spoolMinFreeBytes?: number;
}

/** The limits, checked and with their defaults filled in. */
export type Limits = Required<LimitOptions>;

/** The default of each limit. */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxConnections: 256,
  loginTimeoutMs: 30_000,
  stallTimeoutMs: 30_000,
  passwordChecks: 1,
  passwordQueue: 64,
  authFailDelayMs: 100,
  authFailDelayMaxMs: 2000,
  maxMessageBytes: 16 * 2 ** 30,
  spoolMinFreeBytes: 64 * 2 ** 20,
});

/** Longest time a timer can wait (2^31-1 ms, about 24.8 days); Node fires longer ones at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The range of each limit. */
const RANGES: { [K in keyof Limits]: [min: number, max: number] } = {
  maxConnections: [1, 1_000_000],
  loginTimeoutMs: [1, MAX_TIMER_MS],
  stallTimeoutMs: [1, MAX_TIMER_MS],
  passwordChecks: [1, 64],
  passwordQueue: [0, 1_000_000],
  authFailDelayMs: [0, MAX_TIMER_MS],
  authFailDelayMaxMs: [0, MAX_TIMER_MS],
  maxMessageBytes: [1, Number.MAX_SAFE_INTEGER],
  spoolMinFreeBytes: [0, Number.MAX_SAFE_INTEGER],
};

function checked(key: keyof Limits, value: unknown): number {
  if (value === undefined) return DEFAULT_LIMITS[key];
  const [min, max] = RANGES[key];
  if (!(typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max)) {
    throw new DdmwError(
      'BAD_INPUT',
      `Simulator option limits.${key} must be an integer from ${min} to ${max}, got ${String(value)}`,
    );
  }
  return value;
}

/** Checks the limit options and fills in defaults. Throws `BAD_INPUT`. */
export function limitSettings(opts: LimitOptions | undefined): Limits {
  if (opts !== undefined && (typeof opts !== 'object' || opts === null)) {
    throw new DdmwError(
      'BAD_INPUT',
      `Simulator option limits must be an object, got ${String(opts)}`,
    );
  }
  const o = opts ?? {};
  const limits = Object.fromEntries(
    (Object.keys(RANGES) as (keyof Limits)[]).map((key) => [key, checked(key, o[key])]),
  ) as Limits;
  if (limits.authFailDelayMaxMs < limits.authFailDelayMs) {
    throw new DdmwError(
      'BAD_INPUT',
      `Simulator options limits.authFailDelayMs and limits.authFailDelayMaxMs must be in order (the longest delay at least the first), got ${limits.authFailDelayMs} and ${limits.authFailDelayMaxMs}`,
    );
  }
  return limits;
}
