/**
 * The receiving end's view of the link's health: every authentic frame
 * (heartbeats included) shows the link is up; `misses` heartbeat periods
 * without one and it is reported down, and up again with the next frame.
 * While the receiving end itself holds the stream transport back (its own
 * flow control), silence is expected and not counted.
 */
export class LinkMonitor {
  readonly #silenceMs: number;
  readonly #report: (state: 'up' | 'down', reason: string) => void;
  readonly #timer: NodeJS.Timeout | undefined;
  #lastAlive = performance.now();
  #down = false;
  #held = false;

  constructor(
    heartbeatMs: number,
    misses: number,
    report: (state: 'up' | 'down', reason: string) => void,
  ) {
    this.#silenceMs = heartbeatMs * misses;
    this.#report = report;
    // A period of 0: the link's state is not watched.
    this.#timer = heartbeatMs > 0 ? setInterval(() => this.#check(), heartbeatMs) : undefined;
  }

  /** An authentic frame arrived. */
  alive(): void {
    this.#lastAlive = performance.now();
    if (!this.#down) return;
    this.#down = false;
    this.#report('up', 'frames arrive again');
  }

  /** The receiving end stops (true) or resumes (false) reading the link. */
  hold(held: boolean): void {
    this.#held = held;
    if (!held) this.#lastAlive = performance.now();
  }

  #check(): void {
    if (this.#down || this.#held) return;
    const silent = performance.now() - this.#lastAlive;
    if (silent < this.#silenceMs) return;
    this.#down = true;
    this.#report('down', `no heartbeat for ${Math.round(silent)} ms`);
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
