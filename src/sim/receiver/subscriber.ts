/**
 * One subscribed connection on the receiver's subscription interface: its
 * channels, its bounded queue of messages and the loop that writes them to
 * the socket as fast as the client reads (socket backpressure). A slow
 * subscriber only fills its own queue; when that overflows it gets
 * `Fail` {Reason: too slow} and is disconnected. A stream takes one place
 * in the queue and holds the connection until its end (strm-delivery.ts).
 */
import type { Telegram } from '../../blather/index.ts';
import type { ReceivedMessage } from '../node/message.ts';
import type { Session } from '../node/session.ts';
import type { SimulatorStats } from '../stats.ts';
import { StreamOutlet } from './strm-delivery.ts';

/** How a subscriber or push target queues messages. */
export interface OutletOptions {
  /** Most messages waiting at once. */
  queueLimit: number;
  /** Counters to update. */
  stats: SimulatorStats;
}

/**
 * After its queue overflowed, a subscriber that has not taken the rest of
 * the message on its way (and the `Fail`) within this time is disconnected
 * without it.
 */
const SLOW_SUBSCRIBER_GRACE_MS = 10_000;

/** A subscribed connection. */
export class Subscriber {
  /** Canonical channels the connection subscribed to. */
  readonly channels = new Set<string>();
  readonly #session: Session;
  readonly #options: OutletOptions;
  readonly #queue: (ReceivedMessage | StreamOutlet)[] = [];
  /** What the pump is writing. */
  #current: ReceivedMessage | StreamOutlet | undefined;
  #state: 'open' | 'too-slow' | 'gone' = 'open';
  #pumping = false;
  #grace: NodeJS.Timeout | undefined;

  constructor(session: Session, options: OutletOptions) {
    this.#session = session;
    this.#options = options;
  }

  /** Queues a message for this connection, or marks it too slow when the queue is full. */
  offer(msg: ReceivedMessage): void {
    if (this.#state !== 'open') return;
    if (this.#queue.length >= this.#options.queueLimit) {
      this.#tooSlow();
      return;
    }
    msg.retain();
    this.#queue.push(msg);
    if (!this.#pumping) void this.#pump();
  }

  /** Opens a stream to this connection; `undefined` when it is gone, too slow or its queue is full. */
  offerStream(start: Telegram, xferId: string): StreamOutlet | undefined {
    if (this.#state !== 'open') return undefined;
    if (this.#queue.length >= this.#options.queueLimit) {
      this.#tooSlow();
      return undefined;
    }
    const outlet = new StreamOutlet(start, xferId, () => this.#tooSlow());
    this.#queue.push(outlet);
    if (!this.#pumping) void this.#pump();
    return outlet;
  }

  /** The connection closed: drop what is queued. */
  gone(): void {
    this.#state = 'gone';
    clearTimeout(this.#grace);
    this.#drop();
    if (this.#current instanceof StreamOutlet) this.#current.abort('the subscriber is gone');
  }

  #drop(): void {
    for (const msg of this.#queue.splice(0)) msg.release();
  }

  #tooSlow(): void {
    if (this.#state !== 'open') return;
    this.#state = 'too-slow';
    this.#drop();
    this.#options.stats.slowSubscribersDropped++;
    this.#session.log(
      `subscriber too slow: more than ${this.#options.queueLimit} messages or a stream's buffer waiting; disconnecting it`,
    );
    this.#grace = setTimeout(() => this.#session.close(), SLOW_SUBSCRIBER_GRACE_MS).unref();
    if (!this.#pumping) void this.#pump();
  }

  /** Writes queued messages, one whole message at a time, until the queue is empty. */
  async #pump(): Promise<void> {
    this.#pumping = true;
    const session = this.#session;
    const gone = () => session.socket.destroyed;
    for (let msg = this.#queue.shift(); msg; msg = this.#queue.shift()) {
      const out = msg;
      this.#current = out;
      try {
        const whole = await session.exclusive(() =>
          out.writeTo((chunks) => session.write(...chunks), gone),
        );
        if (whole) this.#options.stats.deliveries++;
      } catch (err) {
        session.log(`closing: cannot send message ${out.header.xferId}: ${String(err)}`);
        session.close();
      } finally {
        this.#current = undefined;
        out.release();
      }
    }
    if (this.#state === 'too-slow' && !gone()) {
      await session.fail('too slow: the subscriber did not keep up with its messages');
      session.socket.end();
    }
    this.#pumping = false;
  }
}
