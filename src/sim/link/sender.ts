/**
 * The sending end of the one-way link. Transfers are opened as soon as an
 * upload starts and carried frame by frame while their bytes arrive
 * (cut-through). The oldest transfer that has a frame ready goes first, so
 * one slow uploader never holds the link for the others, and one client's
 * messages keep their order. Every frame is authenticated, passed through
 * the fault models (each copy, with `redundancy`), paced, and put on the
 * transport. Heartbeats go out every `heartbeatMs`. Nothing ever comes back.
 */

import type { Logger } from '../node/session.ts';
import type { SimulatorStats } from '../stats.ts';
import { corrupt, FaultPlan, type FrameFate } from './faults.ts';
import {
  dataRoom,
  FIXED_SIZE,
  FrameType,
  MAX_HEADER_SIZE,
  sealFrame,
  TAG_SIZE,
  writeFixed,
  writeNumbers,
} from './format.ts';
import { OutgoingTransfer, type TransferInfo } from './outgoing.ts';
import type { LinkSettings } from './settings.ts';
import type { FrameTransport } from './transports.ts';

/** How the sending end is set up. */
export interface LinkSenderOptions {
  settings: LinkSettings;
  transport: FrameTransport;
  /** The link key (undefined when frames are not sealed) and session id, shared with the receiving end only. */
  key: Buffer | undefined;
  session: Buffer;
  stats: SimulatorStats;
  log: Logger | undefined;
  /** Called for every transfer opened, before any frame of it leaves (loss reports use it). */
  onOpen: (number: number, info: TransferInfo & { size: number }) => void;
}

/**
 * Most bytes sent in one burst to make up for a sleep that overran (the
 * process was busy): about what a network card's transmit queue holds and
 * goes on sending while the host is busy (1 MiB: 8 ms at 1 Gbit/s), and
 * never more than {@link MAX_CATCH_UP_MS} of the pace.
 */
const CATCH_UP_BYTES = 1024 * 1024;
const MAX_CATCH_UP_MS = 10;

/** Sleeps as needed so that bytes leave at no more than the configured rate. */
class Pacer {
  readonly #bytesPerMs: number;
  readonly #catchUpMs: number;
  /** `performance.now()` when the link is free for the next frame. */
  #free = 0;
  /** The link had nothing to send since the last booking: it starts afresh. */
  #rested = true;

  constructor(bytesPerSec: number) {
    this.#bytesPerMs = bytesPerSec / 1000;
    this.#catchUpMs = Math.min(CATCH_UP_BYTES / this.#bytesPerMs, MAX_CATCH_UP_MS);
  }

  /** The link has nothing to send: time until the next booking is idle, not to be made up for. */
  rest(): void {
    this.#rested = true;
  }

  /** Books the link for `bytes`; returns a promise when the caller must wait first. */
  book(bytes: number): Promise<void> | undefined {
    if (this.#bytesPerMs === Number.POSITIVE_INFINITY) return undefined;
    const now = performance.now();
    // A sleep that overran (timers are coarse, the machine busy) is made up
    // for, by a burst of at most #catchUpMs of frames: the average is the
    // pace. Time the link was idle is not.
    const start = Math.max(this.#free, now - (this.#rested ? 0 : this.#catchUpMs));
    this.#rested = false;
    this.#free = start + bytes / this.#bytesPerMs;
    // Timers have a resolution of about 1 ms: shorter waits add up and are slept in one go.
    if (start - now < 1) return undefined;
    return new Promise((resolve) => setTimeout(resolve, start - now));
  }
}

/** The sending end of the link. */
export class LinkSender {
  readonly #o: LinkSenderOptions;
  readonly #faults: FaultPlan;
  readonly #pacer: Pacer;
  /** Transfers not yet sent whole, by number. */
  readonly #queue: OutgoingTransfer[] = [];
  #nextNumber = 1;
  #heartbeats = 0;
  /** The buffer data frames are built in, one at a time (warm memory: no allocation per frame). */
  readonly #frame: Buffer;
  #heartbeatDue = false;
  #wake: (() => void) | undefined;
  #pump: Promise<void>;
  #stopped = false;
  readonly #heartbeat: NodeJS.Timeout;
  #closed: Promise<void> | undefined;

  constructor(options: LinkSenderOptions) {
    this.#o = options;
    this.#faults = new FaultPlan(options.settings);
    this.#pacer = new Pacer(options.settings.rateBytesPerSec);
    this.#frame = Buffer.alloc(options.settings.datagramSize);
    this.#pump = this.#run();
    this.#heartbeat = setInterval(() => {
      this.#heartbeatDue = true;
      this.#poke();
    }, options.settings.heartbeatMs);
    this.#heartbeat.unref();
  }

  /** Largest transfer the link carries, in data bytes. */
  get maxTransferBytes(): number {
    return this.#o.settings.maxTransferBytes;
  }

  /**
   * Opens a transfer of `total` data bytes: its frames go out as its bytes
   * are pushed in. Throws for a header that is too long.
   */
  open(header: Buffer, total: number, info: TransferInfo): OutgoingTransfer {
    if (header.length > MAX_HEADER_SIZE) {
      throw new Error(`Transfer header of ${header.length} bytes is too long`);
    }
    const number = this.#nextNumber++;
    const t = new OutgoingTransfer(
      number,
      header,
      total,
      this.#o.settings.datagramSize,
      info,
      this.#faults.burstStart(number),
      () => this.#poke(),
    );
    this.#o.onOpen(number, { ...info, size: total });
    if (this.#stopped) t.done();
    else this.#queue.push(t);
    this.#poke();
    return t;
  }

  #poke(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /**
   * Every transfer numbered below this has left whole (or aborted). A
   * transfer stays in the queue until its last frame is on the wire (a
   * frame the reorder model holds back is never a transfer's last).
   */
  #watermark(): number {
    return this.#queue.length > 0 ? (this.#queue[0] as OutgoingTransfer).number : this.#nextNumber;
  }

  #room(t: OutgoingTransfer): number {
    return dataRoom(t.seq, t.header.length, this.#o.settings.datagramSize);
  }

  /**
   * The one place frames are emitted, one after another, so that a frame's
   * watermark never passes a frame still to be sent.
   */
  async #run(): Promise<void> {
    while (!this.#stopped) {
      if (this.#heartbeatDue) {
        this.#heartbeatDue = false;
        await this.#put(this.#heartbeatFrame(++this.#heartbeats));
        continue;
      }
      const t = this.#queue.find((q) => q.ready(this.#room(q)));
      if (!t) {
        if (!this.#heartbeatDue && !this.#stopped) {
          this.#pacer.rest();
          await new Promise<void>((resolve) => {
            this.#wake = resolve;
          });
        }
        continue;
      }
      try {
        await this.#advance(t);
      } catch (err) {
        // A transfer the link cannot carry (a bug, a hook that throws) must not stop the link.
        const text = err instanceof Error ? err.message : String(err);
        this.#o.log?.(`link: transfer ${t.number} aborted: ${text}`);
        // Even after its last frame was built: it must leave the queue, aborted.
        t.fail(`the link could not carry it: ${text}`);
      }
    }
  }

  /** Sends the next frame of `t` (or its abort). */
  async #advance(t: OutgoingTransfer): Promise<void> {
    if (t.aborted !== undefined) {
      this.#finish(t);
      await this.#abortFrame(t.number);
      return;
    }
    const seq = t.seq;
    // Decided first: a fault hook that throws leaves the transfer as it was.
    const fates = this.#fates(t, seq);
    const frame = this.#dataFrame(t);
    const last = t.seq === t.count;
    // Reordering swaps a frame with the next one of the same transfer (never its last).
    if (!last && !t.held && this.#faults.reorders(t.number, seq)) {
      t.held = { frame: Buffer.from(frame), fates };
      return;
    }
    await this.#copies(frame, fates);
    const held = t.held;
    t.held = undefined;
    if (held) await this.#copies(held.frame, held.fates);
    if (last) this.#finish(t);
  }

  #finish(t: OutgoingTransfer): void {
    const at = this.#queue.indexOf(t);
    if (at >= 0) this.#queue.splice(at, 1);
    if (t.aborted === undefined) this.#o.stats.transfersSent++;
    t.done();
  }

  /**
   * Builds and seals the next data frame of `t`, in the one frame buffer:
   * it is valid until the next frame is built (each send is awaited first).
   */
  #dataFrame(t: OutgoingTransfer): Buffer {
    const seq = t.seq;
    const headerSize = seq === 0 ? t.header.length : 0;
    const n = t.nextFrameBytes(this.#room(t));
    const frame = this.#frame.subarray(0, FIXED_SIZE + headerSize + n + TAG_SIZE);
    writeFixed(frame, {
      type: FrameType.data,
      session: this.#o.session,
      transfer: t.number,
      seq,
      count: t.count,
      total: t.total,
      offset: t.offset,
      watermark: this.#watermark(),
      headerSize,
    });
    if (headerSize > 0) t.header.copy(frame, FIXED_SIZE);
    t.take(frame, FIXED_SIZE + headerSize, n);
    sealFrame(this.#o.key, frame);
    t.seq++;
    t.offset += n;
    return frame;
  }

  /**
   * What becomes of each of the `redundancy` copies of a data frame, decided
   * when it is built: in sequence order within its transfer, whatever the
   * timing, so the fault models are reproducible.
   */
  #fates(t: OutgoingTransfer, seq: number): FrameFate[] {
    const fates: FrameFate[] = [];
    for (let copy = 0; copy < this.#o.settings.redundancy; copy++) {
      fates.push(this.#faults.fate(t.number, seq, t.count, copy, t.burst));
    }
    return fates;
  }

  /** Sends the copies of a data frame as their fates say. */
  async #copies(frame: Buffer, fates: FrameFate[]): Promise<void> {
    for (const fate of fates) {
      if (fate === 'drop') {
        this.#o.stats.framesDropped++;
        continue;
      }
      if (fate === 'corrupt') await this.#put(corrupt(frame, TAG_SIZE));
      else await this.#put(frame);
      if (fate === 'duplicate') await this.#put(frame);
    }
  }

  /**
   * A heartbeat: it carries the watermark, and also the transfers still on
   * their way (so that a stalled upload does not keep the receiving end
   * from deciding about the transfers after it).
   */
  #heartbeatFrame(number: number): Buffer {
    const room = Math.floor((this.#o.settings.datagramSize - FIXED_SIZE - TAG_SIZE) / 8);
    const open = this.#queue.slice(0, room).map((t) => t.number);
    // Beyond the room, only what is below the last one listed is decided.
    const limit = open.length < this.#queue.length ? (open.at(-1) as number) + 1 : this.#nextNumber;
    const frame = Buffer.allocUnsafe(FIXED_SIZE + open.length * 8 + TAG_SIZE);
    writeFixed(frame, {
      type: FrameType.heartbeat,
      session: this.#o.session,
      transfer: number,
      seq: 0,
      count: open.length,
      total: limit,
      offset: 0,
      watermark: this.#watermark(),
      headerSize: 0,
    });
    writeNumbers(frame, FIXED_SIZE, open);
    sealFrame(this.#o.key, frame);
    return frame;
  }

  /** Sends the abort of a transfer: not subject to the random fault models, only to down windows. */
  async #abortFrame(transfer: number): Promise<void> {
    const frame = Buffer.allocUnsafe(FIXED_SIZE + TAG_SIZE);
    writeFixed(frame, {
      type: FrameType.abort,
      session: this.#o.session,
      transfer,
      seq: 0,
      count: 0,
      total: 0,
      offset: 0,
      watermark: this.#watermark(),
      headerSize: 0,
    });
    sealFrame(this.#o.key, frame);
    for (let copy = 0; copy < this.#o.settings.redundancy; copy++) await this.#put(frame);
  }

  /** Puts one frame on the transport, unless the link is down; paced. */
  async #put(frame: Buffer): Promise<void> {
    if (this.#stopped) return;
    if (this.#faults.down()) {
      this.#o.stats.framesDropped++;
      return;
    }
    const wait = this.#pacer.book(frame.length);
    if (wait) await wait;
    this.#o.stats.framesSent++;
    const busy = this.#o.transport.send(frame);
    if (busy) await busy;
  }

  /** Stops sending (transfers on the way are cut short), drops the queue and closes the transport. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#stopped = true;
      clearInterval(this.#heartbeat);
      this.#poke();
      // Closed first: a send waiting for a receiving end that is gone returns.
      await this.#o.transport.close();
      await this.#pump;
      for (const t of this.#queue.splice(0)) t.done();
    })();
    return this.#closed;
  }
}
