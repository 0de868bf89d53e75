/**
 * Log lines about connections an interface could not take (over its
 * connection limit, or an accept that failed, such as EMFILE), kept few
 * under a flood: the first refusal of a run is logged with its reason
 * (and again whenever the reason changes), the others are only counted,
 * and the next accepted connection logs how many were refused meanwhile.
 */
import type { Logger } from './session.ts';

export class RefusalLog {
  readonly #log: Logger;
  /** Refusals since the last accepted connection. */
  #refused = 0;
  #lastReason: string | undefined;

  /** @param log receives the lines (already prefixed with the interface) */
  constructor(log: Logger) {
    this.#log = log;
  }

  /** A connection was refused (or could not be accepted) for `reason`. */
  refused(reason: string): void {
    this.#refused++;
    if (reason === this.#lastReason) return;
    this.#lastReason = reason;
    this.#log(`refusing connections: ${reason}`);
  }

  /** A connection was accepted. */
  accepted(): void {
    if (this.#refused === 0) return;
    this.#log(`accepting connections again (${this.#refused} refused meanwhile)`);
    this.#refused = 0;
    this.#lastReason = undefined;
  }
}
