/**
 * The receiver node's message router: it takes each transfer the link
 * delivers, in arrival order, and offers the message to every connection
 * subscribed to its channel and to the push targets of that channel.
 * Messages nobody wants, or that arrive while the node is down, are
 * dropped, counted and logged; the node stores nothing. Stream transfers
 * go to the stream router (strm-delivery.ts), which feeds subscribers only
 * (push targets take messages).
 */
import type { ArrivedTransfer } from '../link/receiver.ts';
import { decodeHeader } from '../link/transfer-header.ts';
import type { Permissions } from '../node/channels.ts';
import { type MsgHeader, parseMsgHeader, ReceivedMessage } from '../node/message.ts';
import type { Logger, Session } from '../node/session.ts';
import { discard, spooledSize } from '../node/spool.ts';
import type { SimulatorStats } from '../stats.ts';
import type { Discarded } from './discarded.ts';
import type { PushTarget } from './push.ts';
import { type StreamOutlet, StreamRouter } from './strm-delivery.ts';
import { type OutletOptions, Subscriber } from './subscriber.ts';

/** How the router is set up. */
export interface DeliveryOptions extends OutletOptions {
  /** Where log lines go. */
  log: Logger | undefined;
  /** Gets every arrived transfer the node drops. */
  onDiscard: (discarded: Discarded) => void;
}

/** Routes arriving messages to subscribers and push targets. */
export class Delivery {
  readonly #options: DeliveryOptions;
  readonly #subscribers = new Map<Session, Subscriber>();
  readonly #pushTargets: PushTarget[] = [];
  /** Arrivals are handled one after another, so messages keep their order. */
  #arrivals: Promise<void> = Promise.resolve();
  /** Above 0 while the receiver node is down. */
  #down = 0;
  readonly #streams: StreamRouter;

  constructor(options: DeliveryOptions) {
    this.#options = options;
    this.#streams = new StreamRouter({
      outlets: (ch, start, xferId) => {
        if (this.#down > 0) return [];
        const subscribers = [...this.#subscribers.values()].filter((s) => s.channels.has(ch));
        return subscribers
          .map((s) => s.offerStream(start, xferId))
          .filter((outlet): outlet is StreamOutlet => outlet !== undefined);
      },
      stats: options.stats,
      log: options.log,
      onDiscard: options.onDiscard,
    });
  }

  get #stats(): SimulatorStats {
    return this.#options.stats;
  }

  /**
   * Subscribes a connection to a channel (canonical text) on the rights of
   * `account` (see {@link recheck}). Idempotent.
   */
  subscribe(session: Session, channel: string, account: Permissions): void {
    let subscriber = this.#subscribers.get(session);
    if (!subscriber) {
      if (session.socket.destroyed) return; // gone already: nothing to deliver to
      const added = new Subscriber(session, this.#options);
      session.socket.once('close', () => {
        this.#subscribers.delete(session);
        added.gone();
      });
      this.#subscribers.set(session, added);
      subscriber = added;
    }
    subscriber.subscribe(channel, account);
  }

  /**
   * Revokes, at once, the subscriptions of the channels `account` may no
   * longer subscribe to after a change (`why` says which): their queued
   * messages are dropped and their connections ended with a `Fail`.
   */
  recheck(account: Permissions, why: string): void {
    for (const subscriber of this.#subscribers.values()) subscriber.recheck(account, why);
  }

  /** Adds a push target; it gets the messages of its channel from now on. */
  addPushTarget(target: PushTarget): void {
    this.#pushTargets.push(target);
  }

  /** Marks the node down (messages are dropped) until a matching {@link resume}. */
  suspend(): void {
    this.#down++;
  }

  /** Ends one {@link suspend}. */
  resume(): void {
    this.#down--;
  }

  /**
   * Takes a transfer from the link; it is routed after the ones that came
   * before it. Resolves once it is routed (queued for its subscribers, not
   * written: a slow subscriber never holds this up).
   */
  arrive(transfer: ArrivedTransfer): Promise<void> {
    this.#arrivals = this.#arrivals
      .then(() => this.#route(transfer))
      .catch((err: unknown) => {
        const text = err instanceof Error ? err.message : String(err);
        this.#options.log?.(`receiver: cannot route a message: ${text}`);
      });
    return this.#arrivals;
  }

  async #route({ number, header: bytes, data, digest }: ArrivedTransfer): Promise<void> {
    const log = this.#options.log;
    const tg = await decodeHeader(bytes).catch(() => undefined);
    if (tg && StreamRouter.handles(tg.topic)) {
      this.#stats.transfersDelivered++;
      await this.#streams.arrive(number, tg, data, digest);
      return;
    }
    let header: MsgHeader | undefined;
    try {
      header = tg && parseMsgHeader(tg);
    } catch {
      header = undefined;
    }
    if (!header || header.metaLen + header.len !== spooledSize(data)) {
      this.#stats.transfersCorrupt++;
      const reason = 'its header is not a Msg telegram matching its size';
      log?.(`receiver: transfer ${number} dropped: ${reason}`);
      this.#options.onDiscard({ number, kind: 'corrupt', reason });
      await discard(data);
      return;
    }
    this.#stats.transfersDelivered++;
    const msg = new ReceivedMessage(header, data);
    const what = `message ${header.xferId} on channel ${header.ch} (${msg.size} bytes)`;
    if (this.#down > 0) {
      this.#stats.droppedReceiverDown++;
      log?.(`receiver: ${what} dropped: the receiver node is down`);
      this.#options.onDiscard({ number, kind: 'discarded', reason: 'the receiver node is down' });
    } else {
      const outlets = [
        ...[...this.#subscribers.values()].filter((s) => s.channels.has(header.ch)),
        ...this.#pushTargets.filter((t) => t.channel === header.ch),
      ];
      if (outlets.length === 0) {
        this.#stats.droppedNoSubscriber++;
        log?.(`receiver: ${what} dropped: no subscriber`);
        this.#options.onDiscard({ number, kind: 'discarded', reason: 'no subscriber' });
      } else {
        log?.(`receiver: ${what} for ${outlets.length} subscriber(s)/push target(s)`);
      }
      for (const outlet of outlets) outlet.offer(msg);
    }
    msg.release();
  }

  /** Stops the push targets and drops everything still queued. */
  async close(): Promise<void> {
    await this.#arrivals;
    this.#streams.close();
    await Promise.all(this.#pushTargets.map((target) => target.close()));
    for (const subscriber of this.#subscribers.values()) subscriber.gone();
    this.#subscribers.clear();
  }
}
