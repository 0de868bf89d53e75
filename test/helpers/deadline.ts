/**
 * Waits bounded by a deadline: a promise that must settle, or a condition
 * polled until it holds. A wait that runs out fails the test, saying what
 * did not happen (a hang is a test failure, not a stuck suite).
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** How often {@link waitForAsync} checks again. */
const POLL_MS = 10;

/** A failure naming `what`, with `report()` (evaluated now) after it, if given. */
function late(what: string, ms: number, report?: () => string): Error {
  return new Error(`timed out after ${ms} ms waiting for ${what}${report ? `; ${report()}` : ''}`);
}

/**
 * Awaits `p`; rejects after `ms`, naming `what` and adding `report()` (for
 * progress, evaluated then) when given.
 */
export function within<T>(
  p: Promise<T>,
  ms: number,
  what: string,
  report?: () => string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(late(what, ms, report)), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

/** Polls `check` until it returns true; fails after `ms` like {@link within}. */
export function waitFor(
  what: string,
  check: () => boolean,
  ms = 5000,
  report?: () => string,
): Promise<void> {
  return waitForAsync(what, async () => check(), ms, report);
}

/** Like {@link waitFor}, for a check that is asynchronous. */
export async function waitForAsync(
  what: string,
  check: () => Promise<boolean>,
  ms = 5000,
  report?: () => string,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw late(what, ms, report);
    await sleep(POLL_MS);
  }
}
