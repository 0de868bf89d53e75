/**
 * One subscribed connection on the receiver's subscription interface: its
 * channels, its bounded queue of messages and the loop that writes them to
 * the socket as fast as the client reads (socket backpressure). Nothing
 * upstream ever waits for it: a slow subscriber only fills its own queue,
 * bounded in messages and in bytes (queue-limits.ts). When a message would
 * exceed either bound, the subscriber is too slow; when the account that
 * subscribed a channel loses the right to it, the subscription is revoked.
 * Either way its queue is dropped, it gets `Fail` with the reason after
 * the message on its way, and is disconnected. A stream takes one place in
 * the queue, and what it buffers while it waits counts in bytes; once
 * written it holds the connection until its end (strm-delivery.ts).
 */
import type { Telegram } from '../../blather/index.ts';
import { mayUse, type Permissions } from '../node/channels.ts';
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
 * After its queue overflowed or its subscription was revoked, a subscriber
 * that has not taken the rest of the message on its way (and the `Fail`)
 * within this time is disconnected without it.
 */
const ENDING_GRACE_MS = 10_000;

/** A subscribed connection. */
export class Subscriber {
  /** Canonical channels the connection subscribed to, each with the account that subscribed it. */
  readonly channels = new Map<string, Permissions>();
  readonly #session: Session;
  readonly #options: OutletOptions;
  readonly #queue: (ReceivedMessage | StreamOutlet)[] = [];
  /** Streams in {@link #queue}. */
  readonly #waitingStreams = new Set<StreamOutlet>();
  /** Bytes of the messages in {@link #queue}, and of what its streams have buffered. */
  #queuedBytes = 0;
  /** What the pump is writing. */
  #current: ReceivedMessage | StreamOutlet | undefined;
  #state: 'open' | 'ending' | 'gone' = 'open';
  /** The `Reason` of the `Fail` an ending subscriber gets. */
  #endReason = '';
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

  /** Subscribes the connection to `channel` (canonical text) on the rights of `account`. */
  subscribe(channel: string, account: Permissions): void {
    this.channels.set(channel, account);
  }

  /**
   * Checks the channels `account` subscribed after it changed; `why` says
   * how. If it may no longer subscribe to one of them, the subscription is
   * revoked: nothing more is written but the message on its way, then the
   * `Fail` naming the channel, then the connection ends.
   */
  recheck(account: Permissions, why: string): void {
    for (const [channel, grantor] of this.channels) {
      if (grantor !== account || mayUse(account, 'subscribe', channel)) continue;
      const reason = `Permission revoked: account "${account.name}" may no longer subscribe to channel "${channel}" (${why}); the subscription ends`;
      if (this.#end(reason)) {
        this.#options.stats.subscriptionsRevoked++;
        this.#session.log(`subscription revoked: ${reason}`);
      }
      return;
    }
  }

  /** Drops the queue and disconnects the subscriber; `reason` names the limit it exceeded. */
  #tooSlow(reason: string): void {
    if (!this.#end(`too slow: ${reason}`)) return;
    this.#options.stats.slowSubscribersDropped++;
    this.#session.log(`subscriber too slow: ${reason}; disconnecting it`);
  }

  /**
   * Drops the queue, cuts a stream on its way short, and has the pump send
   * `Fail` `reason` and end the connection. False when it is ending already.
   */
  #end(reason: string): boolean {
    if (this.#state !== 'open') return false;
    this.#state = 'ending';
    this.#endReason = reason;
    this.#drop();
    // A stream would hold the connection until its end: cut it short.
    if (this.#current instanceof StreamOutlet) this.#current.abort(reason);
    this.#grace = setTimeout(() => this.#session.close(), ENDING_GRACE_MS).unref();
    if (!this.#pumping) void this.#pump();
    return true;
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
        // Taken off the queue, it may have waited for a reply: write it only if still open.
        const whole = await session.exclusive(async () =>
          this.#state === 'open'
            ? out.writeTo(
                (chunks, flushed) =>
                  flushed ? session.writeFlushed(chunks) : session.write(...chunks),
                gone,
              )
            : false,
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
    if (this.#state === 'ending' && !gone()) {
      await session.fail(this.#endReason);
      session.socket.end();
    }
    this.#pumping = false;
  }
}
