/**
 * A run of the demo and its time limits: one for the whole run, and one for
 * each wait (a share of the whole). A wait also ends early when the run is
 * stopped (by a signal, or by the check given to `watch`), and it always
 * says what it was waiting for and why it gave up.
 */

/** Why the run was stopped early, and the exit code that goes with it. */
export interface Stop {
  why: string;
  exitCode: number;
}

/** A wait that ended without its result. */
class WaitFailed extends Error {
  constructor(what: string, why: string) {
    super(`waiting for ${what}: ${why}`);
    this.name = 'WaitFailed';
  }
}

/** How often a wait runs the check given to `watch`. */
const CHECK_EVERY_MS = 250;

/** The message of an error, or the text of anything else thrown. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** `1 ms`, `250 ms`, `1.5 s`. */
export function duration(ms: number): string {
  return ms >= 1000 ? `${Number((ms / 1000).toFixed(1))} s` : `${Number(ms.toFixed(2))} ms`;
}

export class Run {
  readonly #stopper = new AbortController();
  /** Kept referenced: while the run lasts, it alone keeps the process alive if all else is stuck. */
  readonly #timer: NodeJS.Timeout;
  #check: () => string | undefined = () => undefined;

  /** Starts the clock: the whole run stops after `limitMs`. */
  constructor(readonly limitMs: number) {
    this.#timer = setTimeout(
      () =>
        this.stop(`the demo's time limit of ${duration(limitMs)} ran out (DDMW_DEMO_TIMEOUT_MS)`),
      limitMs,
    );
  }

  /** Stops the run: the wait in progress and every later one fail with `why`. The first stop counts. */
  stop(why: string, exitCode = 1): void {
    if (!this.#stopper.signal.aborted) this.#stopper.abort({ why, exitCode } satisfies Stop);
  }

  /** Why the run was stopped, if it was. */
  get stopped(): Stop | undefined {
    const signal = this.#stopper.signal;
    return signal.aborted ? (signal.reason as Stop) : undefined;
  }

  /** Also stops the run as soon as `check` returns a reason; checked during every wait. */
  watch(check: () => string | undefined): void {
    this.#check = check;
  }

  /** The run is over: its overall time limit no longer applies. */
  end(): void {
    clearTimeout(this.#timer);
  }

  /**
   * Runs `start` and waits for its result, for at most `share` of the
   * overall limit, and only while the run is not stopped. Giving up aborts
   * the signal given to `start` and rejects with a {@link WaitFailed} naming
   * `what`; a failure of `start` itself is reported the same way.
   */
  async within<T>(
    what: string,
    share: number,
    start: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const limitMs = Math.ceil(this.limitMs * share); // AbortSignal.timeout takes whole ms
    const signal = AbortSignal.any([this.#stopper.signal, AbortSignal.timeout(limitMs)]);
    const gaveUp = () =>
      new WaitFailed(
        what,
        this.stopped?.why ?? `nothing within ${duration(limitMs)}, the limit of this wait`,
      );
    if (signal.aborted) throw gaveUp();
    let onAbort = () => {};
    const abandoned = new Promise<never>((_, reject) => {
      onAbort = () => reject(gaveUp());
      signal.addEventListener('abort', onAbort, { once: true });
    });
    const poll = setInterval(() => {
      const why = this.#check();
      if (why !== undefined) this.stop(why);
    }, CHECK_EVERY_MS);
    try {
      return await Promise.race([
        abandoned,
        start(signal).catch((err: unknown) => {
          throw signal.aborted ? gaveUp() : new WaitFailed(what, errorText(err));
        }),
      ]);
    } finally {
      clearInterval(poll);
      signal.removeEventListener('abort', onAbort);
    }
  }
}
