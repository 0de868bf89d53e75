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
 * flood of bad logins cannot starve the node.
 */
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
  /** Writes a log line about the connection. */
  log(line: string): void;
}

/** Account names whose failures are remembered, at most (the least recent are forgotten first). */
const MAX_NAMES = 10_000;
/** A name's failures are forgotten after this long without another one (5 minutes). */
const NAME_MEMORY_MS = 5 * 60_000;
/**
 * While other checks wait, a failed check keeps its place at the gate for
 * three times as long as it took: a flood of bad logins gets at most a
 * quarter of a thread per place, and the node's own work the rest.
 */
const FAILED_CHECK_REST = 3;

/** The outcome of a login refused because its account name is throttled. */
const THROTTLED = Object.freeze({ ok: false, reason: 'throttled' } as const);

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
  readonly #byName = new Map<string, NameFailures>();

  constructor(ctx: LoginGuardContext) {
    this.#ctx = ctx;
    this.#gate = new CheckGate(ctx.limits.passwordChecks, ctx.limits.passwordQueue);
  }

  /** Checks a name and passphrase in turn with other checks; a failure resolves after its delay. */
  async withPassword(caller: LoginCaller, name: string, pass: string): Promise<GuardedLogin> {
    const { stats } = this.#ctx;
    // Asked before and after waiting for a turn: the name may have failed meanwhile.
    const result = this.#throttled(name)
      ? THROTTLED
      : await this.#gate.run(
          caller.closed,
          async () => (this.#throttled(name) ? THROTTLED : this.#ctx.accounts.login(name, pass)),
          (checked, tookMs) =>
            checked.ok || this.#gate.waiting === 0 ? 0 : tookMs * FAILED_CHECK_REST,
        );
    if (result === undefined || result === THROTTLED) {
      stats.authRefused++;
      await this.#failed(caller, undefined);
      return result ?? { ok: false, reason: 'busy' };
    }
    if (result.ok) {
      this.#succeeded(caller, name);
    } else {
      stats.authFailed++;
      await this.#failed(caller, name);
    }
    return result;
  }

  /** True while a failed login for `name` waits for its reply. */
  #throttled(name: string): boolean {
    return (this.#byName.get(name)?.pending ?? 0) > 0;
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

  #succeeded(caller: LoginCaller, name: string | undefined): void {
    this.#byConnection.delete(caller);
    if (name !== undefined) this.#byName.delete(name);
  }

  /** Counts a failure of the connection (and of the name, when one was checked) and waits its delay. */
  async #failed(caller: LoginCaller, name: string | undefined): Promise<void> {
    const onConnection = (this.#byConnection.get(caller) ?? 0) + 1;
    this.#byConnection.set(caller, onConnection);
    const forName = name === undefined ? undefined : this.#countName(name);
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

  /** Counts a failure for `name`; returns its record. */
  #countName(name: string): NameFailures {
    const now = Date.now();
    const known = this.#byName.get(name);
    const failures =
      known && now - known.last < NAME_MEMORY_MS ? known : { count: 0, last: now, pending: 0 };
    failures.count++;
    failures.last = now;
    // Re-inserted, so the map's order runs from the least to the most recent failure.
    this.#byName.delete(name);
    this.#byName.set(name, failures);
    if (this.#byName.size > MAX_NAMES) {
      const oldest = this.#byName.keys().next().value as string;
      this.#byName.delete(oldest);
    }
    return failures;
  }

  /** The delay before the `Fail` of the `failures`-th failure in a row: doubling, capped. */
  #delay(failures: number): number {
    const { authFailDelayMs: first, authFailDelayMaxMs: cap } = this.#ctx.limits;
    // 2^30 times any first delay is beyond every cap.
    return Math.min(cap, first * 2 ** Math.min(failures - 1, 30));
  }
}
