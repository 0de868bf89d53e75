/**
 * `Watchdog`: the one timer of a connection, checking the time limits of its
 * requests. Telling it a deadline later than the one it already waits for
 * costs a comparison, so every request can tell it its deadline: the timer
 * is only set when an earlier deadline comes, which in steady use is once
 * per time limit, not once per request (a `setTimeout` per request would
 * show in a round trip of a few microseconds). When it fires, its owner
 * checks the deadlines it really has, and arms it again for the next one.
 *
 * The owner is called only after two more turns of the event loop have
 * handled the I/O waiting by then: a reply that came in time, but was not
 * read yet because this process was busy or not scheduled, ends its wait
 * first and is not reported as a timeout. Two, because a peer in this same
 * process (the embedded simulator, a test's server) that answers at once
 * reads the request in the first turn, and its reply is read in the
 * second. That is all they cover: a peer in this process whose answer
 * takes longer (work on libuv's thread pool, such as the simulator's
 * passphrase check, `statfs` or state-file write) is timed out like a
 * remote one when its time runs out meanwhile. Once stopped, the
 * watchdog never calls its owner, even when its timer had fired already.
 */

/** The longest delay `setTimeout` takes (a longer one fires at once). */
const MAX_DELAY_MS = 2 ** 31 - 1;

export class Watchdog {
  #timer: NodeJS.Timeout | undefined;
  /** The turn of the event loop the owner's call waits for after the timer fired. */
  #pending: NodeJS.Immediate | undefined;
  /** The deadline the timer is set for (`Infinity`: not set). */
  #at = Number.POSITIVE_INFINITY;
  readonly #onFire: () => void;

  /** `onFire` is called (at the earliest) when the earliest armed deadline has come. */
  constructor(onFire: () => void) {
    this.#onFire = onFire;
  }

  /** Makes sure the watchdog fires no later than `deadline` (a `performance.now()` time). */
  arm(deadline: number): void {
    if (deadline >= this.#at) return;
    clearTimeout(this.#timer);
    this.#at = deadline;
    const delay = Math.min(Math.max(Math.ceil(deadline - performance.now()), 1), MAX_DELAY_MS);
    // Unreferenced: a pending request keeps the process alive through its socket, not this timer.
    this.#timer = setTimeout(this.#fire, delay).unref();
  }

  /** Cancels the timer, and the owner's call when the timer has fired already (the connection closed). */
  stop(): void {
    clearTimeout(this.#timer);
    clearImmediate(this.#pending);
    this.#timer = undefined;
    this.#pending = undefined;
    this.#at = Number.POSITIVE_INFINITY;
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    this.#at = Number.POSITIVE_INFINITY;
    // Re-armed and fired again before the owner's call: one call, after the new turns.
    clearImmediate(this.#pending);
    this.#pending = setImmediate(this.#afterPendingIo);
  };

  readonly #afterPendingIo = (): void => {
    this.#pending = setImmediate(this.#call);
  };

  readonly #call = (): void => {
    this.#pending = undefined;
    this.#onFire();
  };
}
