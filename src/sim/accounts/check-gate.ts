/**
 * A bounded turnstile for expensive work (passphrase hashing): at most a
 * few tasks run at once and a few more wait their turn; one beyond is
 * refused at once. A task's place may stay taken for a rest after it ends,
 * which bounds the share of a thread the work gets. A flood of logins then
 * neither occupies every thread of libuv's pool (which the spool's file
 * writes share), nor a whole core, nor piles up.
 */
export class CheckGate {
  readonly #maxRunning: number;
  readonly #maxWaiting: number;
  #running = 0;
  /** Starts each waiting task, in arrival order. */
  readonly #waiting: (() => void)[] = [];

  /**
   * @param maxRunning tasks running at once
   * @param maxWaiting tasks waiting for their turn
   */
  constructor(maxRunning: number, maxWaiting: number) {
    this.#maxRunning = maxRunning;
    this.#maxWaiting = maxWaiting;
  }

  /** Tasks waiting for their turn. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Runs `task` once its turn comes and returns its result; `undefined`
   * (without running it) when too many tasks wait already. Rejects with the
   * signal's reason when `signal` aborts while the task waits. Once the task
   * is done, its place stays taken for `rest(result, tookMs)` more
   * milliseconds (the caller does not wait for that).
   */
  async run<T>(
    signal: AbortSignal,
    task: () => Promise<T>,
    rest: (result: T, tookMs: number) => number = () => 0,
  ): Promise<T | undefined> {
    signal.throwIfAborted();
    if (this.#running >= this.#maxRunning) {
      if (this.#waiting.length >= this.#maxWaiting) return undefined;
      await this.#turn(signal);
    } else {
      this.#running++;
    }
    const start = performance.now();
    let result: T;
    try {
      result = await task();
    } catch (err) {
      this.#leave();
      throw err;
    }
    const restMs = rest(result, performance.now() - start);
    if (restMs > 0) setTimeout(this.#leave, restMs).unref();
    else this.#leave();
    return result;
  }

  /** Waits until a running task hands its place over. */
  #turn(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const start = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        this.#waiting.splice(this.#waiting.indexOf(start), 1);
        reject(signal.reason);
      };
      this.#waiting.push(start);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** A task is done: its place goes to the next waiting one, if any. */
  readonly #leave = (): void => {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#running--;
  };
}
