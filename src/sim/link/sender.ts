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
} from './format.ts';
import { OutgoingTransfer, type TransferInfo } from './outgoing.ts';
import type { LinkSettings } from './settings.ts';
import type { FrameTransport } from './transports.ts';

/** How the sending end is set up. */
export interface LinkSenderOptions {
  settings: LinkSettings;
  transport: FrameTransport;
  /** The link key and session id, shared with the receiving end only. */
  key: Buffer;
  session: Buffer;
  stats: SimulatorStats;
  log: Logger | undefined;
  /** Called for every transfer opened, before any frame of it leaves (loss reports use it). */
  onOpen: (number: number, info: TransferInfo & { size: number }) => void;
}

/** Longest time an overrun sleep is made up for, in one burst of frames. */
const CATCH_UP_MS = 2;

/** Sleeps as needed so that bytes leave at no more than the configured rate. */
class Pacer {
  readonly #bytesPerMs: number;
  /** `performance.now()` when the link is free for the next frame. */
  #free = 0;

  constructor(bytesPerSec: number) {
    this.#bytesPerMs = bytesPerSec / 1000;
  }

  /** Books the link for `bytes`; returns a promise when the caller must wait first. */
  book(bytes: number): Promise<void> | undefined {
    if (this.#bytesPerMs === Number.POSITIVE_INFINITY) return undefined;
    const now = performance.now();
    // A sleep that overran (timers are coarse, the machine busy) is made up
    // for, by at most CATCH_UP_MS of frames at once: the average is the pace.
    const start = Math.max(this.#free, now - CATCH_UP_MS);
    this.#free = start + bytes / this.#bytesPerMs;
    // Timers have a resolution of about 1 ms: shorter waits add up and are slept in one go.
    if (start - now < 1) return undefined;
    return new Promise((resolve) => setTimeout(resolve, start - now));
  }
}

/** A frame held back by the reorder model, sent after the next data frame. */
interface HeldFrame {
  transfer: OutgoingTransfer;
  seq: number;
  frame: Buffer;
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
  #held: HeldFrame | undefined;
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

  /** Bytes of data a transfer whose header has `headerSize` bytes can carry in one frame. */
  singleFrameRoom(headerSize: number): number {
    return dataRoom(0, headerSize, this.#o.settings.datagramSize);
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

  /** Every transfer numbered below this has left whole (or aborted). */
  #watermark(): number {
    let low = this.#nextNumber;
    if (this.#queue.length > 0) low = (this.#queue[0] as OutgoingTransfer).number;
    if (this.#held) low = Math.min(low, this.#held.transfer.number);
    return low;
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
        // A held frame goes first: the heartbeat's watermark must not pass it.
        await this.#release();
        await this.#control(FrameType.heartbeat, ++this.#heartbeats);
        continue;
      }
      const t = this.#queue.find((q) => q.ready(this.#room(q)));
      if (!t) {
        await this.#release();
        const idle = !this.#queue.some((q) => q.ready(this.#room(q))) && !this.#heartbeatDue;
        if (idle && !this.#stopped) {
          await new Promise<void>((resolve) => {
            this.#wake = resolve;
          });
        }
        continue;
      }
      if (t.aborted !== undefined) {
        this.#finish(t);
        await this.#release();
        await this.#control(FrameType.abort, t.number);
        continue;
      }
      const seq = t.seq;
      const frame = this.#dataFrame(t);
      if (t.seq === t.count) this.#finish(t);
      await this.#emitData(t, seq, frame);
    }
  }

  #finish(t: OutgoingTransfer): void {
    this.#queue.splice(this.#queue.indexOf(t), 1);
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

  /** Sends a data frame through the reorder model, then the frame it held back, if any. */
  async #emitData(t: OutgoingTransfer, seq: number, frame: Buffer): Promise<void> {
    if (!this.#held && this.#faults.reorders(t.number, seq)) {
      this.#held = { transfer: t, seq, frame: Buffer.from(frame) };
      return;
    }
    await this.#copies(t, seq, frame);
    await this.#release();
  }

  /** Sends the frame the reorder model held back, if any. */
  async #release(): Promise<void> {
    const held = this.#held;
    this.#held = undefined;
    if (held) await this.#copies(held.transfer, held.seq, held.frame);
  }

  /** Sends the `redundancy` copies of a data frame, each through the fault models. */
  async #copies(t: OutgoingTransfer, seq: number, frame: Buffer): Promise<void> {
    for (let copy = 0; copy < this.#o.settings.redundancy; copy++) {
      const fate: FrameFate = this.#faults.fate(t.number, seq, t.count, copy, t.burst);
      if (fate === 'drop') {
        this.#o.stats.framesDropped++;
        continue;
      }
      if (fate === 'corrupt') await this.#put(corrupt(frame, TAG_SIZE));
      else await this.#put(frame);
      if (fate === 'duplicate') await this.#put(frame);
    }
  }

  /** Sends a heartbeat or an abort: not subject to the random fault models, only to down windows. */
  async #control(type: FrameType, transfer: number): Promise<void> {
    const frame = Buffer.allocUnsafe(FIXED_SIZE + TAG_SIZE);
    writeFixed(frame, {
      type,
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
    const copies = type === FrameType.heartbeat ? 1 : this.#o.settings.redundancy;
    for (let copy = 0; copy < copies; copy++) await this.#put(frame);
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
      await this.#pump;
      for (const t of this.#queue.splice(0)) t.done();
      this.#held = undefined;
      await this.#o.transport.close();
    })();
    return this.#closed;
  }
}
