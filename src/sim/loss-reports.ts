/**
 * Loss is loud: every transfer that is lost, corrupt, aborted or discarded
 * becomes a `loss` event on the simulator and a log line, whatever the
 * options. The receiving end of a link cannot know what a transfer was
 * when none of its frames arrived, so the simulator keeps, as an observer
 * outside the link, what each transfer carries from the moment the sending
 * end opens it until the receiving end resolves it.
 */
import type { EventEmitter } from 'node:events';
import { describeLoss, type LossEvent, type LossKind, type SimulatorEvents } from './events.ts';
import type { TransferInfo } from './link/outgoing.ts';
import type { Logger } from './node/session.ts';

/** What a transfer carries, as its sending end opened it. */
type Carried = TransferInfo & { size: number };

/**
 * Most transfers remembered at once. Transfers are forgotten once resolved;
 * beyond this many unresolved ones (a link down for long under heavy
 * traffic) the oldest are forgotten and reported without their details.
 */
const MAX_REMEMBERED = 100_000;

/** Remembers what transfers carry and reports those that do not arrive. */
export class LossReporter {
  readonly #carried = new Map<number, Carried>();
  readonly #events: EventEmitter<SimulatorEvents>;
  readonly #log: Logger | undefined;

  constructor(events: EventEmitter<SimulatorEvents>, log: Logger | undefined) {
    this.#events = events;
    this.#log = log;
  }

  /** The sending end opened transfer `number`. */
  opened(number: number, carried: Carried): void {
    if (this.#carried.size >= MAX_REMEMBERED) {
      const oldest = this.#carried.keys().next().value as number;
      this.#carried.delete(oldest);
    }
    this.#carried.set(number, carried);
  }

  /** Transfer `number` arrived whole: nothing to report. */
  arrived(number: number): void {
    this.#carried.delete(number);
  }

  /** Transfer `number` did not reach its applications. */
  report(number: number, kind: LossKind, reason: string): void {
    const carried = this.#carried.get(number);
    this.#carried.delete(number);
    const event: LossEvent = {
      kind,
      transfer: number,
      xferId: carried?.xferId,
      ch: carried?.ch,
      size: carried?.size,
      what: carried?.what,
      reason,
    };
    this.#log?.(`loss: ${describeLoss(event)}`);
    try {
      this.#events.emit('loss', event);
    } catch (err) {
      this.#log?.(`a 'loss' listener threw: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
