/**
 * The login guard's memory of failed account names: bounded however long
 * the guessed names are, and forgotten once they are old. A connection is
 * marked while its passphrase check waits or runs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { AccountStore, LoginResult } from '../../src/sim/accounts/accounts.ts';
import { type LoginCaller, LoginGuard } from '../../src/sim/accounts/login-guard.ts';
import { limitSettings } from '../../src/sim/limits.ts';
import { newStats } from '../../src/sim/stats.ts';
import { waitFor, within } from '../helpers/deadline.ts';

/** A store where every login fails at once (no scrypt). */
const refusing = {
  login: async () => ({ ok: false, reason: 'bad-credentials' }),
  loginWithToken: () => ({ ok: false, reason: 'bad-credentials' }),
} as unknown as AccountStore;

function guard(accounts = refusing, authFailDelayMs = 0): LoginGuard {
  const limits = limitSettings({ authFailDelayMs, authFailDelayMaxMs: authFailDelayMs });
  return new LoginGuard({ accounts, limits, stats: newStats() });
}

/** A connection that logs nothing, open until `closed` aborts. */
function caller(
  closed = new AbortController().signal,
  log: (line: string) => void = () => {},
): LoginCaller {
  return { closed, log, checkingPassword: false };
}

/** The garbage collector (the flag set here, as the test runner starts Node without it). */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

describe('the login guard', () => {
  it('remembers long account names by a digest, not by the name', async () => {
    const gc = collector();
    const logins = guard();
    const count = 1000;
    const nameBytes = 64 * 1024; // a request line's most
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < count; i++) {
      // A flat string of its own for each name, dropped by the test once used.
      const name = Buffer.alloc(nameBytes, 'n').toString('latin1').slice(8) + String(i).padStart(8);
      await logins.withPassword(caller(), name, 'x');
    }
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    assert.equal(logins.rememberedNames, count);
    // The names themselves would take 64 MiB.
    assert.ok(grown < 16 * 2 ** 20, `the heap grew by ${grown} bytes for ${count} names`);
  });

  it('forgets names whose last failure is 5 minutes old', async (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
    const logins = guard();
    await logins.withPassword(caller(), 'a', 'x');
    await logins.withPassword(caller(), 'b', 'x');
    t.mock.timers.tick(4 * 60_000);
    await logins.withPassword(caller(), 'c', 'x');
    assert.equal(logins.rememberedNames, 3);
    t.mock.timers.tick(60_000);
    await logins.withPassword(caller(), 'd', 'x');
    assert.equal(logins.rememberedNames, 2, 'a and b forgotten, c and d remembered');
  });

  it('marks a connection while its passphrase check waits or runs, not during the delay of its failure', async () => {
    let finish = (_: LoginResult) => {};
    const checked = new Promise<LoginResult>((resolve) => {
      finish = resolve;
    });
    const holding = { login: () => checked } as unknown as AccountStore;
    const logins = guard(holding, 60_000); // passwordChecks 1: the second waits for its turn
    const closing = new AbortController();
    const lines: string[] = [];
    const first = caller(closing.signal, (line) => lines.push(line));
    const second = caller(closing.signal);
    const results = [first, second].map((c) =>
      logins.withPassword(c, 'a', 'x').then(
        () => 'answered',
        (err: Error) => err.message,
      ),
    );
    assert.equal(first.checkingPassword, true, 'checking');
    assert.equal(second.checkingPassword, true, 'waiting for its turn');
    finish({ ok: false, reason: 'bad-credentials' });
    await waitFor('the failure of the first check being logged', () => lines.length === 1);
    assert.equal(first.checkingPassword, false, 'waiting out the delay of its failure');
    closing.abort();
    // (The second ends at the gate or in its own delay, depending on when its turn came.)
    const [firstEnd] = await within(Promise.all(results), 5000, 'both logins to end');
    assert.equal(firstEnd, 'The client disconnected during a failed login');
    assert.equal(second.checkingPassword, false, 'its login over');
  });
});
