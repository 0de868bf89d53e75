/**
 * Logins under attack: failed `Auth` requests are answered after a delay
 * that doubles per connection and per account name (capped, cleared by a
 * successful login); passphrase checks take turns, and beyond the waiting
 * room an `Auth` is refused without a check.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Telegram } from '../../src/blather/index.ts';
import type { AccountStore } from '../../src/sim/accounts/accounts.ts';
import { CheckGate } from '../../src/sim/accounts/check-gate.ts';
import type { GuardedLogin, LoginGuard } from '../../src/sim/accounts/login-guard.ts';
import { commonCommands } from '../../src/sim/node/commands.ts';
import { CommandFailed, type Session } from '../../src/sim/node/session.ts';
import { waitFor, within } from '../helpers/deadline.ts';
import { setup, until } from './limits-helpers.ts';
import { expectFail, expectOk, failOnUnhandledRejections } from './wire-client.ts';

failOnUnhandledRejections();

const ALL = { AccName: 'all', Pass: 'pw' };
const WRONG = { AccName: 'all', Pass: 'wrong' };
const BAD_TOKEN = { Tkn: '0'.repeat(32) };

/** The delays the simulator logged for failed logins, in order. */
function delays(log: string[]): number[] {
  return log.flatMap((line) => {
    const m = / failed login \(.*\): Fail in (\d+) ms$/.exec(line);
    return m ? [Number(m[1])] : [];
  });
}

describe('failed logins', () => {
  it('are answered after a delay that doubles per connection and per account name, up to a cap', async () => {
    const t = await setup({ limits: { authFailDelayMs: 5, authFailDelayMaxMs: 20 } });
    try {
      const a = await t.open(t.sim.sender.msgif);
      for (let i = 0; i < 4; i++) await expectFail(a, 'Auth', WRONG);
      assert.deepEqual(delays(t.log), [5, 10, 20, 20], 'doubling on one connection, capped');

      // A new connection, the same name: the name's failures count.
      const b = await t.open(t.sim.receiver.mgmtif);
      await expectFail(b, 'Auth', WRONG);
      // Another name, and a token: only the connection's own failures count.
      const c = await t.open(t.sim.sender.msgif);
      await expectFail(c, 'Auth', { AccName: 'nobody', Pass: 'x' });
      await expectFail(c, 'Auth', BAD_TOKEN);
      assert.deepEqual(delays(t.log).slice(4), [20, 5, 10]);

      // A successful login clears the connection's and the name's failures.
      await expectOk(a, 'Auth', ALL);
      await expectFail(a, 'Auth', { AccName: 'nobody', Pass: 'x' }); // the name "nobody" failed once
      await expectFail(b, 'Auth', WRONG); // b failed once before
      assert.deepEqual(delays(t.log).slice(7), [10, 10]);

      const stats = t.sim.stats();
      assert.equal(stats.authFailed, 9);
      assert.equal(stats.authRefused, 0);
    } finally {
      await t.stop();
    }
  });

  it('hold back the connection that failed often, not a fresh one', async () => {
    const t = await setup({ limits: { authFailDelayMs: 10, authFailDelayMaxMs: 10_000 } });
    try {
      const guesser = await t.open(t.sim.sender.msgif);
      // Bad tokens cost no passphrase check: 6 failures, 630 ms of delays.
      for (let i = 0; i < 6; i++) await expectFail(guesser, 'Auth', BAD_TOKEN);
      const fresh = await t.open(t.sim.sender.msgif);
      // Both ask at once. Which reply comes first depends on how long the checks take (their
      // turns at the gate), so what is checked is each one's delay after its check: the
      // guesser waits 640 ms, the fresh one 10.
      const guessed = expectFail(guesser, 'Auth', { AccName: 'x', Pass: 'y' });
      const tried = expectFail(fresh, 'Auth', { AccName: 'z', Pass: 'y' });
      await within(Promise.all([guessed, tried]), 10_000, 'both Fail replies');
      // Failures on their connection -> delay, from the log lines of the last two failures.
      const byFailures = new Map(
        t.log
          .flatMap((line) => {
            const m = /failed login \((\d+) on this connection.*: Fail in (\d+) ms$/.exec(line);
            return m ? [[Number(m[1]), Number(m[2])] as const] : [];
          })
          .slice(6),
      );
      assert.equal(byFailures.get(7), 640, 'the guesser, at its 7th failure');
      assert.equal(byFailures.get(1), 10, 'the fresh connection, at its first');
    } finally {
      await t.stop();
    }
  });
});

describe('an account name under attack', () => {
  it('is not checked again while a failed login for it waits for its reply', async () => {
    // Delays far longer than the test: what happens meanwhile is seen in the counts and the log.
    const t = await setup({ limits: { authFailDelayMs: 60_000, authFailDelayMaxMs: 60_000 } });
    try {
      const first = await t.open(t.sim.sender.msgif);
      first.send('Auth', WRONG);
      await until(t.sim, 'the first failure being delayed', () => delays(t.log).length === 1);
      const second = await t.open(t.sim.receiver.mgmtif);
      second.send('Auth', ALL);
      const other = await t.open(t.sim.sender.mgmtif);
      other.send('Auth', { AccName: 'nobody', Pass: 'x' });
      await until(t.sim, 'the name refused without a check, and another name checked', () => {
        const stats = t.sim.stats();
        return stats.authRefused === 1 && stats.authFailed === 2;
      });
      for (const line of [
        'receiver/mgmtif#1 failed login (1 on this connection): Fail in 60000 ms',
        'sender/mgmtif#1 failed login (1 on this connection, 1 for this name): Fail in 60000 ms',
      ]) {
        assert.ok(t.log.includes(line), `${line}\n${t.log.join('\n')}`);
      }
      // The first failure over (here: its connection reset; a connection merely shut down
      // might still read its reply), the name is checked again.
      first.socket.resetAndDestroy();
      await waitFor(
        'the first connection closed',
        () => t.log.includes('sender/msgif#1 closed'),
        10_000,
        () => t.log.join('\n'),
      );
      const again = await t.open(t.sim.receiver.mgmtif);
      await within(expectOk(again, 'Auth', ALL), 10_000, 'the login after the failure');
      const stats = t.sim.stats();
      assert.equal(stats.authRefused, 1);
      assert.equal(stats.authFailed, 2);
    } finally {
      await t.stop();
    }
  });

  it('is refused with a reason that says so', async () => {
    const refused: GuardedLogin = { ok: false, reason: 'throttled' };
    const logins = { withPassword: async () => refused } as unknown as LoginGuard;
    const node = { nodeType: 'sender', version: '0' } as const;
    const auth = commonCommands({} as AccountStore, logins, node).get('Auth');
    assert.ok(auth);
    await assert.rejects(
      async () => auth({} as Session, new Telegram('Auth', WRONG)),
      (err) =>
        err instanceof CommandFailed &&
        err.message ===
          'Authentication refused: too many failed logins for this account name, try again later',
    );
  });
});

describe('passphrase checks', () => {
  it('beyond the waiting room, an Auth is refused at once without a check', async () => {
    const t = await setup({ limits: { passwordChecks: 1, passwordQueue: 1, authFailDelayMs: 0 } });
    try {
      const clients = await Promise.all(
        Array.from({ length: 8 }, () => t.open(t.sim.sender.msgif)),
      );
      // All at once: one is checked, one waits, the others find the waiting room full.
      const reasons = await within(
        Promise.all(clients.map((c) => expectFail(c, 'Auth', WRONG))),
        10_000,
        'the replies to 8 logins at once',
      );
      const refused = reasons.filter((r) => /^Authentication refused: too many logins/.test(r));
      const failed = reasons.filter((r) => /^Authentication failed:/.test(r));
      assert.equal(refused.length + failed.length, 8, reasons.join('\n'));
      assert.ok(refused.length >= 1 && failed.length >= 2, reasons.join('\n'));
      const stats = t.sim.stats();
      assert.equal(stats.authRefused, refused.length);
      assert.equal(stats.authFailed, failed.length);
      // The flood over, a login goes through.
      await expectOk(clients[0] as (typeof clients)[0], 'Auth', ALL);
    } finally {
      await t.stop();
    }
  });
});

describe('the check gate', () => {
  /** A task that runs until `finish()` is called. */
  function task() {
    let finish = () => {};
    const done = new Promise<string>((resolve) => {
      finish = () => resolve('done');
    });
    return { run: () => done, finish: () => finish() };
  }

  it('runs at most maxRunning tasks, queues maxWaiting, and refuses the rest', async () => {
    const gate = new CheckGate(2, 1);
    const tasks = [task(), task(), task(), task()];
    let started = 0;
    const never = new AbortController().signal;
    const results = tasks.map((x) =>
      gate.run(never, () => {
        started++;
        return x.run();
      }),
    );
    assert.equal(await results[3], undefined, 'the fourth is refused');
    assert.equal(started, 2, 'two run, the third waits');
    tasks[0]?.finish();
    assert.equal(await results[0], 'done');
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.equal(started, 3, 'the third takes the freed place');
    for (const x of tasks) x.finish();
    assert.deepEqual(await Promise.all(results.slice(1, 3)), ['done', 'done']);
  });

  it('keeps a place for the rest its task asks for, without holding up the caller', async () => {
    const gate = new CheckGate(1, 1);
    const never = new AbortController().signal;
    let started = 0;
    const first = gate.run(
      never,
      () => Promise.resolve('first'),
      (result, tookMs) => {
        assert.equal(result, 'first');
        assert.ok(tookMs >= 0);
        return 2000; // long enough that no stall of a busy machine ends it before the check below
      },
    );
    const second = gate.run(never, () => {
      started++;
      return Promise.resolve('second');
    });
    assert.equal(await first, 'first');
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.equal(started, 0, 'the second waits while the first one’s place rests');
    assert.equal(await within(second, 10_000, 'the second task after the rest'), 'second');
  });

  it('drops a waiting task whose signal aborts, and refuses one already aborted', async () => {
    const gate = new CheckGate(1, 1);
    const running = task();
    const never = new AbortController().signal;
    const first = gate.run(never, running.run);
    const leaving = new AbortController();
    const waiting = gate.run(leaving.signal, () => Promise.resolve('must not run'));
    leaving.abort(new Error('gone'));
    await assert.rejects(waiting, /gone/);
    // Its place in the waiting room is free again.
    const next = gate.run(never, () => Promise.resolve('next'));
    running.finish();
    assert.deepEqual(await Promise.all([first, next]), ['done', 'next']);
    await assert.rejects(gate.run(leaving.signal, running.run), /gone/);
  });
});
