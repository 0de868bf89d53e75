/**
 * `Turns`: whose turn it is on a connection. One exchange runs at a time;
 * later callers wait in call order. A request (an exchange with a name)
 * also has a deadline, counted from its call, and may have an
 * `AbortSignal`: while it waits its turn, running out of time or being
 * aborted just takes it out of the queue (nothing was sent); once it runs,
 * either stops it through the connection's `stop`, which closes the
 * connection (a late reply would put it out of step). One {@link Watchdog}
 * checks the deadlines of the running request and of the waiting ones.
 */
import type { DdmwError } from '../err.ts';
import {
  checkTimeoutMs,
  queueTimeout,
  type RequestOptions,
  replyTimeout,
  requestAborted,
} from './limits.ts';
import { Watchdog } from './watchdog.ts';

/** The time limit and signal of a request. */
export interface Request {
  /** Names the request (or the reply awaited) in errors. */
  what: string;
  limitMs: number;
  /** A `performance.now()` time; `Infinity` while the limit is lifted. */
  deadline: number;
  signal: AbortSignal | undefined;
  /** The error that stopped the request while it ran. */
  stopped?: DdmwError;
}

/** A call waiting for its turn. */
interface Waiter {
  /** Runs the call: it has the turn from then on. */
  start: () => void;
  /** Rejects the call without running it. */
  reject: (err: DdmwError) => void;
  request: Request | undefined;
}

/** A signal of waiting requests: one listener for all of them (many listeners on one signal make Node warn). */
interface SignalWatch {
  /** How many waiting requests have the signal. */
  waiting: number;
  onAbort: () => void;
}

/** What {@link Turns} needs of its connection. */
export interface TurnsOwner {
  /** The connection's address, for messages. */
  readonly address: string;
  /** Closes the connection with `err`, which ends whatever the running exchange waits for. */
  fail(err: DdmwError): void;
}

export class Turns {
  /** True while an exchange runs; later callers wait in {@link #waiting}. */
  #taken = false;
  #waiting: Waiter[] = [];
  /** The request of the running exchange, if it is one. */
  #current: Request | undefined;
  readonly #signals = new Map<AbortSignal, SignalWatch>();
  readonly #owner: TurnsOwner;
  readonly #defaultLimitMs: number;
  readonly #watchdog = new Watchdog(() => this.#checkDeadlines());

  constructor(owner: TurnsOwner, defaultLimitMs: number) {
    this.#owner = owner;
    this.#defaultLimitMs = defaultLimitMs;
  }

  /** A request's limit and signal, checked (`BAD_PARAMS`, `ABORTED`); its deadline counts from now. */
  request(what: string, options: RequestOptions | undefined): Request {
    let limitMs = this.#defaultLimitMs;
    const signal = options?.signal;
    if (options?.timeoutMs !== undefined) {
      checkTimeoutMs(`timeoutMs (of ${what})`, options.timeoutMs);
      limitMs = options.timeoutMs;
    }
    if (signal?.aborted) throw requestAborted(what, this.#owner.address, false, signal.reason);
    return { what, limitMs, deadline: performance.now() + limitMs, signal };
  }

  /** Takes the turn if nobody has it; returns false when the caller must {@link wait}. */
  take(): boolean {
    if (this.#taken) return false;
    this.#taken = true;
    return true;
  }

  /** Resolves when it is the caller's turn; rejects if its request runs out of time or is aborted first. */
  wait(request: Request | undefined): Promise<void> {
    return new Promise((start, reject) => {
      const waiter: Waiter = { start, reject, request };
      this.#waiting.push(waiter);
      if (!request) return;
      this.#watchdog.arm(request.deadline);
      if (request.signal) this.#listen(request.signal);
    });
  }

  /**
   * The exchange that has the turn starts; its request's limit and signal
   * apply from now on. Returns the error to reject it with instead, unrun,
   * when its request was aborted or (`waited` for its turn) ran out of time
   * in the moment between getting the turn and starting.
   */
  begin(request: Request | undefined, waited: boolean): DdmwError | undefined {
    if (request) {
      const { signal, what, limitMs } = request;
      if (signal?.aborted) return requestAborted(what, this.#owner.address, false, signal.reason);
      if (waited && request.deadline <= performance.now()) {
        return queueTimeout(what, this.#owner.address, limitMs);
      }
    }
    this.#current = request;
    if (!request) return undefined;
    this.#watchdog.arm(request.deadline);
    request.signal?.addEventListener('abort', this.#abortCurrent, { once: true });
    return undefined;
  }

  /** The running exchange ended; returns the error that stopped it, if any. */
  end(): DdmwError | undefined {
    const request = this.#current;
    if (!request) return undefined;
    this.#current = undefined;
    request.signal?.removeEventListener('abort', this.#abortCurrent);
    return request.stopped;
  }

  /** Hands the turn straight to the next caller, in call order. */
  release(): void {
    const next = this.#waiting.shift();
    if (!next) {
      this.#taken = false;
      return;
    }
    this.#unlisten(next);
    next.start();
  }

  /** The error that stopped the running exchange, if any. */
  get stopped(): DdmwError | undefined {
    return this.#current?.stopped;
  }

  /** Restarts the running request's time limit from now; an exchange without one gets the default. */
  startLimit(what: string): void {
    this.#current ??= {
      what,
      limitMs: this.#defaultLimitMs,
      deadline: Number.POSITIVE_INFINITY,
      signal: undefined,
    };
    const request = this.#current;
    request.what = what;
    request.deadline = performance.now() + request.limitMs;
    this.#watchdog.arm(request.deadline);
  }

  /** Lifts the running request's time limit until the next {@link startLimit}. */
  stopLimit(): void {
    if (this.#current) this.#current.deadline = Number.POSITIVE_INFINITY;
  }

  /**
   * The connection closed with `err`: no more deadlines to watch, and the
   * calls still waiting fail with it at once (unsent), whatever the
   * exchange that has the turn still waits for.
   */
  close(err: DdmwError): void {
    this.#watchdog.stop();
    for (const waiter of [...this.#waiting]) this.#drop(waiter, err);
  }

  /** Takes a call out of the queue, unrun, and rejects it. */
  #drop(waiter: Waiter, err: DdmwError): void {
    const at = this.#waiting.indexOf(waiter);
    if (at < 0) return;
    this.#waiting.splice(at, 1);
    this.#unlisten(waiter);
    waiter.reject(err);
  }

  /** Watches the signal of a request that starts waiting. */
  #listen(signal: AbortSignal): void {
    const watch = this.#signals.get(signal);
    if (watch) {
      watch.waiting++;
      return;
    }
    const onAbort = () => {
      for (const waiter of [...this.#waiting]) {
        const request = waiter.request;
        if (request?.signal !== signal) continue;
        this.#drop(waiter, requestAborted(request.what, this.#owner.address, false, signal.reason));
      }
    };
    this.#signals.set(signal, { waiting: 1, onAbort });
    signal.addEventListener('abort', onAbort, { once: true });
  }

  /** Stops watching the signal of a request that no longer waits, when no other waiting one has it. */
  #unlisten(waiter: Waiter): void {
    const signal = waiter.request?.signal;
    const watch = signal && this.#signals.get(signal);
    if (!signal || !watch) return;
    watch.waiting--;
    if (watch.waiting > 0) return;
    this.#signals.delete(signal);
    signal.removeEventListener('abort', watch.onAbort);
  }

  /** Stops the running exchange: closing the connection ends whatever it waits for. */
  #stopCurrent(request: Request, err: DdmwError): void {
    request.stopped ??= err;
    this.#owner.fail(err);
  }

  readonly #abortCurrent = (): void => {
    const request = this.#current;
    if (!request?.signal?.aborted) return;
    const err = requestAborted(request.what, this.#owner.address, true, request.signal.reason);
    this.#stopCurrent(request, err);
  };

  /** The watchdog fired: stops what ran out of time, and arms it for the next deadline. */
  #checkDeadlines(): void {
    const now = performance.now();
    const current = this.#current;
    if (current && current.deadline <= now) {
      this.#stopCurrent(current, replyTimeout(current.what, this.#owner.address, current.limitMs));
      return; // the connection is closed: the waiting calls fail with it in turn
    }
    let next = current?.deadline ?? Number.POSITIVE_INFINITY;
    for (const waiter of [...this.#waiting]) {
      const request = waiter.request;
      if (!request) continue;
      if (request.deadline <= now) {
        this.#drop(waiter, queueTimeout(request.what, this.#owner.address, request.limitMs));
      } else next = Math.min(next, request.deadline);
    }
    this.#watchdog.arm(next);
  }
}
