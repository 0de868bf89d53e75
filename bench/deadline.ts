/**
 * Every deadline of the benchmark, and the wait that enforces them. They
 * are generous enough for a loaded 2-core machine: a figure that misses one
 * is broken (its transfer lost or stuck), not slow.
 */

const MiB = 1024 * 1024;

/** Deadline of one transfer of `bytes` (with its setup): 30 s, plus the bytes at 20 MiB/s. */
export function transferDeadlineMs(bytes: number): number {
  return 30_000 + (bytes / (20 * MiB)) * 1000;
}

/** Deadline of the round-trip figure: a few seconds of work. */
export const ROUNDS_DEADLINE_MS = 60_000;

/** How long a child process gets to exit after SIGTERM before it is killed with SIGKILL. */
export const EXIT_GRACE_MS = 5_000;

/** How often {@link within} asks its `giveUp` check. */
const CHECK_EVERY_MS = 200;

/**
 * Waits for `work`, at most `ms`. Past the deadline it rejects with
 * "<what> did not arrive within N s", `what()` being asked then (so it can
 * say how far the work got). `giveUp`, when given, is asked every 200 ms:
 * once it returns a reason, the wait rejects at once with that reason. The
 * caller owns what `work` uses and closes it on every path, so `work`
 * settles soon after (its late result or error is ignored).
 */
export async function within<T>(
  ms: number,
  what: () => string,
  work: Promise<T>,
  giveUp?: () => string | undefined,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let check: NodeJS.Timeout | undefined;
  const missed = new Promise<never>((_, reject) => {
    const late = () => new Error(`${what()} did not arrive within ${+(ms / 1000).toFixed(2)} s`);
    timer = setTimeout(() => reject(late()), ms);
    if (giveUp) {
      check = setInterval(() => {
        const reason = giveUp();
        if (reason !== undefined) reject(new Error(`${what()} did not arrive: ${reason}`));
      }, CHECK_EVERY_MS);
    }
  });
  try {
    return await Promise.race([work, missed]);
  } finally {
    clearTimeout(timer);
    clearInterval(check);
  }
}
