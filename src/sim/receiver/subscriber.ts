/**
 * One subscribed connection on the receiver's subscription interface: its
 * channels, its bounded queue of messages and the loop that writes them to
 * the socket as fast as the client reads (socket backpressure). Nothing
 * upstream ever waits for it: a slow subscriber only fills its own queue,
 * bounded in messages and in bytes (queue-limits.ts). When a message would
 * exceed either bound, the subscriber is too slow: its queue is dropped, it
 * gets `Fail` {Reason: too slow: ...} after the message on its way, and is
 * disconnected. A stream takes one place in the queue, and what it
 * buffers while it waits counts in bytes; once written it holds the
 * connection until its end (strm-delivery.ts).
 */
import type { Telegram } from '../../blather/index.ts';
import type { ReceivedMessage } from '../node/message.ts';
import type { Session } from '../node/session.ts';
import type { SimulatorStats } from '../stats.ts';
import { grownOver, type QueueLimits, type QueueLoad, queueRefusal } from './queue-limits.ts';
import { StreamOutlet } from './strm-delivery.ts';

/** How a subscriber or push target queues messages. */
export interface OutletOptions extends QueueLimits {
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
  /** Streams in {@link #queue}. */
  readonly #waitingStreams = new Set<StreamOutlet>();
  /** Bytes of the messages in {@link #queue}, and of what its streams have buffered. */
  #queuedBytes = 0;
  /** What the pump is writing. */
  #current: ReceivedMessage | StreamOutlet | undefined;
  #state: 'open' | 'too-slow' | 'gone' = 'open';
  /** Which limit a too slow subscriber exceeded. */
  #slowReason = '';
  #pumping = false;
  #grace: NodeJS.Timeout | undefined;

  constructor(session: Session, options: OutletOptions) {
    this.#session = session;
    this.#options = options;
  }

  get #load(): QueueLoad {
    return { count: this.#queue.length, bytes: this.#queuedBytes };
  }

  /** Queues a message for this connection, or marks it too slow when the queue is full. */
  offer(msg: ReceivedMessage): void {
    if (this.#state !== 'open') return;
    const refusal = queueRefusal(this.#options, this.#load, msg.size);
    if (refusal) {
      this.#tooSlow(`message ${msg.header.xferId}: ${refusal}`);
      return;
    }
    msg.retain();
    this.#queue.push(msg);
    this.#queuedBytes += msg.size;
    if (!this.#pumping) void this.#pump();
  }

  /** Opens a stream to this connection; `undefined` when it is gone, too slow or its queue is full. */
  offerStream(start: Telegram, xferId: string): StreamOutlet | undefined {
    if (this.#state !== 'open') return undefined;
    const refusal = queueRefusal(this.#options, this.#load, 0);
    if (refusal) {
      this.#tooSlow(`stream ${xferId}: ${refusal}`);
      return undefined;
    }
    const limit = this.#options.queueLimitBytes;
    const outlet: StreamOutlet = new StreamOutlet(start, xferId, limit, {
      overflow: () =>
        this.#tooSlow(`stream ${xferId}: more than ${limit} bytes not taken (queueLimitBytes)`),
      buffered: (delta) => this.#streamBuffered(outlet, delta),
    });
    this.#queue.push(outlet);
    this.#waitingStreams.add(outlet);
    if (!this.#pumping) void this.#pump();
    return outlet;
  }

  /** What a stream buffers while it waits counts like a queued message. */
  #streamBuffered(outlet: StreamOutlet, delta: number): void {
    if (!this.#waitingStreams.has(outlet)) return;
    this.#queuedBytes += delta;
    const over = grownOver(this.#options, this.#load);
    if (over) this.#tooSlow(`stream ${outlet.header.xferId}: ${over}`);
  }

  /** Takes the next item off the queue. */
  #next(): ReceivedMessage | StreamOutlet | undefined {
    const next = this.#queue.shift();
    if (next instanceof StreamOutlet) this.#waitingStreams.delete(next);
    if (next) this.#queuedBytes -= next.size;
    return next;
  }

  /** The connection closed: drop what is queued. */
  gone(): void {
    this.#state = 'gone';
    clearTimeout(this.#grace);
    this.#drop();
    if (this.#current instanceof StreamOutlet) this.#current.abort('the subscriber is gone');
  }

  #drop(): void {
    this.#waitingStreams.clear();
    for (const msg of this.#queue.splice(0)) msg.release();
    this.#queuedBytes = 0;
  }

  /** Drops the queue and disconnects the subscriber; `reason` names the limit it exceeded. */
  #tooSlow(reason: string): void {
    if (this.#state !== 'open') return;
    this.#state = 'too-slow';
    this.#slowReason = reason;
    this.#drop();
    // A stream would hold the connection until its end: cut it short.
    if (this.#current instanceof StreamOutlet) this.#current.abort(`too slow: ${reason}`);
    this.#options.stats.slowSubscribersDropped++;
    this.#session.log(`subscriber too slow: ${reason}; disconnecting it`);
    this.#grace = setTimeout(() => this.#session.close(), SLOW_SUBSCRIBER_GRACE_MS).unref();
    if (!this.#pumping) void this.#pump();
  }

  /** Writes queued messages, one whole message at a time, until the queue is empty. */
  async #pump(): Promise<void> {
    this.#pumping = true;
    const session = this.#session;
    const gone = () => session.socket.destroyed;
    for (let msg = this.#next(); msg; msg = this.#next()) {
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
      await session.fail(`too slow: ${this.#slowReason}`);
      session.socket.end();
    }
    this.#pumping = false;
  }
}
