/**
 * Logins under attack. Every failed login is answered only after a delay
 * that doubles with each failure on the same connection or for the same
 * account name, up to a cap; a successful login clears the count. While a
 * failed login for an account name waits for its reply, other logins for
 * that name are refused without a check, so a name is checked at most once
 * per delay however many connections try it. Passphrase checks take turns
 * at a {@link CheckGate}: scrypt is costly on purpose and runs on libuv's
 * thread pool, which the spool's file writes need too; while others wait, a
 * failed check keeps its place for a rest. A guesser is slowed down, and a
 * flood of bad logins cannot starve the node. Names are remembered by
 * their sha-256 and for a while only, so guessed names (up to a request
 * line each) cannot fill the simulator's memory.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { DdmwError } from '../../err.ts';
import type { Limits } from '../limits.ts';
import type { SimulatorStats } from '../stats.ts';
import type { AccountStore, LoginResult } from './accounts.ts';
import { CheckGate } from './check-gate.ts';

/**
 * A login's outcome. Refused without a check: `busy` when too many checks
 * wait, `throttled` while a failed login for the account name waits for
 * its reply.
 */
export type GuardedLogin = LoginResult | { ok: false; reason: 'busy' | 'throttled' };

/** The connection a login comes from. */
export interface LoginCaller {
  /** Aborted once the connection has closed: a waiting login is dropped. */
  readonly closed: AbortSignal;
  /** Set while its passphrase check waits for its turn or runs (not during a failure's delay). */
  checkingPassword: boolean;
  /** Writes a log line about the connection. */
  log(line: string): void;
}

/** Account names whose failures are remembered, at most (the least recent are forgotten first). */
const MAX_NAMES = 10_000;
/** A name's failures are forgotten (and its entry dropped) after this long without another one (5 minutes). */
const NAME_MEMORY_MS = 5 * 60_000;
/**
 * While other checks wait, a failed check keeps its place at the gate for
 * three times as long as it took: a flood of bad logins gets at most a
 * quarter of a thread per place, and the node's own work the rest.
 */
const FAILED_CHECK_REST = 3;

/** The outcome of a login refused because its account name is throttled. */
const THROTTLED = Object.freeze({ ok: false, reason: 'throttled' } as const);

/** The key a name's failures are remembered under: 44 characters, however long the name. */
function nameKey(name: string): string {
  return createHash('sha256').update(name).digest('base64');
}

/** Failures counted for one account name. */
interface NameFailures {
  count: number;
  /** `Date.now()` of the last one. */
  last: number;
  /** Failed logins for the name whose reply waits for its delay. */
  pending: number;
}

/** What the guard needs from the simulator. */
export interface LoginGuardContext {
  accounts: AccountStore;
  limits: Pick<
    Limits,
    'passwordChecks' | 'passwordQueue' | 'authFailDelayMs' | 'authFailDelayMaxMs'
  >;
  stats: SimulatorStats;
}

/** The logins of one simulator (every node and interface). */
export class LoginGuard {
  readonly #ctx: LoginGuardContext;
  readonly #gate: CheckGate;
  readonly #byConnection = new WeakMap<LoginCaller, number>();
  /** By {@link nameKey}, from the least to the most recent failure. */
  readonly #byName = new Map<string, NameFailures>();

  constructor(ctx: LoginGuardContext) {
    this.#ctx = ctx;
    this.#gate = new CheckGate(ctx.limits.passwordChecks, ctx.limits.passwordQueue);
  }

  /** Checks a name and passphrase in turn with other checks; a failure resolves after its delay. */
  async withPassword(caller: LoginCaller, name: string, pass: string): Promise<GuardedLogin> {
    const { stats } = this.#ctx;
    const key = nameKey(name);
    // Asked before and after waiting for a turn: the name may have failed meanwhile.
    const result = this.#throttled(key) ? THROTTLED : await this.#check(caller, key, name, pass);
    if (result === undefined || result === THROTTLED) {
      stats.authRefused++;
      await this.#failed(caller, undefined);
      return result ?? { ok: false, reason: 'busy' };
    }
    if (result.ok) {
      this.#succeeded(caller, key);
    } else {
      stats.authFailed++;
      await this.#failed(caller, key);
    }
    return result;
  }

  /** The passphrase check at the gate; `undefined` when too many wait. */
  async #check(
    caller: LoginCaller,
    key: string,
    name: string,
    pass: string,
  ): Promise<GuardedLogin | undefined> {
    caller.checkingPassword = true;
    try {
      return await this.#gate.run(
        caller.closed,
        async () => (this.#throttled(key) ? THROTTLED : this.#ctx.accounts.login(name, pass)),
        (checked, tookMs) =>
          checked.ok || this.#gate.waiting === 0 ? 0 : tookMs * FAILED_CHECK_REST,
      );
    } finally {
      caller.checkingPassword = false;
    }
  }

  /** Account names whose failures are remembered now. */
  get rememberedNames(): number {
    return this.#byName.size;
  }

  /** True while a failed login for the name keyed `key` waits for its reply. */
  #throttled(key: string): boolean {
    return (this.#byName.get(key)?.pending ?? 0) > 0;
  }

  /** Checks a token (cheap: no turn to wait for); a failure resolves after its delay. */
  async withToken(caller: LoginCaller, token: string): Promise<LoginResult> {
    const result = this.#ctx.accounts.loginWithToken(token);
    if (result.ok) {
      this.#succeeded(caller, undefined);
    } else {
      this.#ctx.stats.authFailed++;
      await this.#failed(caller, undefined);
    }
    return result;
  }

  #succeeded(caller: LoginCaller, key: string | undefined): void {
    this.#byConnection.delete(caller);
    if (key !== undefined) this.#byName.delete(key);
  }

  /** Counts a failure of the connection (and of the name keyed `key`, when one was checked) and waits its delay. */
  async #failed(caller: LoginCaller, key: string | undefined): Promise<void> {
    const onConnection = (this.#byConnection.get(caller) ?? 0) + 1;
    this.#byConnection.set(caller, onConnection);
    const forName = key === undefined ? undefined : this.#countName(key);
    const delay = this.#delay(Math.max(onConnection, forName?.count ?? 0));
    const named = forName === undefined ? '' : `, ${forName.count} for this name`;
    caller.log(`failed login (${onConnection} on this connection${named}): Fail in ${delay} ms`);
    if (forName) forName.pending++;
    try {
      await sleep(delay, undefined, { signal: caller.closed });
    } catch {
      throw new DdmwError('DISCONNECTED', 'The client disconnected during a failed login');
    } finally {
      if (forName) forName.pending--;
    }
  }

  /** Counts a failure for the name keyed `key`; returns its record. */
  #countName(key: string): NameFailures {
    const now = Date.now();
    this.#forgetExpired(now);
    const known = this.#byName.get(key);
    const failures =
      known && now - known.last < NAME_MEMORY_MS ? known : { count: 0, last: now, pending: 0 };
    failures.count++;
    failures.last = now;
    // Re-inserted, so the map's order runs from the least to the most recent failure.
    this.#byName.delete(key);
    this.#byName.set(key, failures);
    if (this.#byName.size > MAX_NAMES) {
      const oldest = this.#byName.keys().next().value as string;
      this.#byName.delete(oldest);
    }
    return failures;
  }

  /** Drops the names whose last failure is {@link NAME_MEMORY_MS} old, but not one whose reply still waits. */
  #forgetExpired(now: number): void {
    for (const [key, failures] of this.#byName) {
      if (now - failures.last < NAME_MEMORY_MS) break; // the rest are more recent
      if (failures.pending === 0) this.#byName.delete(key);
    }
  }

  /** The delay before the `Fail` of the `failures`-th failure in a row: doubling, capped. */
  #delay(failures: number): number {
    const { authFailDelayMs: first, authFailDelayMaxMs: cap } = this.#ctx.limits;
    // 2^30 times any first delay is beyond every cap.
    return Math.min(cap, first * 2 ** Math.min(failures - 1, 30));
  }
}
