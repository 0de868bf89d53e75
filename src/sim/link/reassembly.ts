/**
 * Reassembly of transfers from link frames, run by the receiving end of the
 * link in its own thread. Every frame is authenticated before anything else
 * is done with it; forged and damaged frames are counted and dropped. A
 * transfer is handed on only when every one of its frames is in: then all
 * of its data has been authenticated. Loss is decided without clocks: every
 * frame carries the sender's watermark (every transfer below it has left
 * the sending end whole), so a transfer below the watermark that is not
 * complete never will be.
 */
import { join } from 'node:path';
import {
  claimedTransfer,
  dataRoom,
  type Frame,
  type FrameCheck,
  FrameType,
  type LinkEvent,
  type LinkReceiverConfig,
  openFrame,
  readNumbers,
} from './format.ts';
import { type Hold, IncomingData, SlabPool, type WriteBudget } from './incoming-data.ts';
import { StreamDigests } from './stream-digests.ts';

/** Hands an event to the receiver node, transferring the listed buffers. */
export type PostEvent = (event: LinkEvent, transfer?: ArrayBuffer[]) => void;

/** A transfer being reassembled. */
interface Incoming {
  number: number;
  count: number;
  total: number;
  /** One flag per frame: 1 once it arrived. */
  seen: Uint8Array;
  arrived: number;
  /** Data bytes arrived. */
  received: number;
  header: Uint8Array | undefined;
  data: IncomingData;
  /** Its memory was lent from the memory budget. */
  budgeted: boolean;
  /** A frame claiming to be of this transfer failed authentication. */
  damaged: boolean;
  /** Data bytes of its first frame, as the first frame to arrive tells (see `#inPlace`). */
  firstRoom: number | undefined;
  /** An authentic frame of it was not where the sending end puts its frames: it is corrupt. */
  misplaced: boolean;
}

/** Slabs kept for reuse once the node gave them back: 64 MiB, a large message's worth. */
const SPARE_SLABS = 64;

/** Most transfer numbers remembered as damaged before their first authentic frame. */
const MAX_DAMAGED = 1024;

/** Reassembles transfers and posts them. One per receiving thread. */
export class Reassembler {
  readonly #config: LinkReceiverConfig;
  readonly #check: FrameCheck;
  readonly #post: PostEvent;
  readonly #budget: WriteBudget;
  readonly #active = new Map<number, Incoming>();
  /** Every transfer numbered below this is resolved (delivered, lost or aborted). */
  #resolvedBelow = 1;
  /**
   * Every transfer numbered below this is resolved too, except those in
   * {@link #undecided} (still on their way when a heartbeat said so).
   */
  #decidedBelow = 1;
  readonly #undecided = new Set<number>();
  /** Transfers at or above {@link #decidedBelow} already resolved. */
  readonly #resolved = new Set<number>();
  /** Transfers not (yet) seen whose frames failed authentication: reported corrupt if lost. */
  readonly #damaged = new Set<number>();
  /** Completed transfers being checked and posted (and lost ones removed), one after another. */
  #finishing: Promise<void> = Promise.resolve();
  #files = 0;
  /** What is left of the memory budget for large transfers. */
  #memoryLeft: number;
  /** Slabs for the data of transfers kept in memory. */
  readonly #slabs: SlabPool;
  /** The sha-256 of the streams on their way. */
  readonly #digests = new StreamDigests();
  /** Frames ignored (copies, late) and rejected (forged, damaged) since {@link takeCounts}. */
  #ignored = 0;
  #rejected = 0;
  #lastRejection: string | undefined;
  /** Called for every authentic frame: the link is alive. */
  readonly #onAlive: () => void;

  constructor(
    config: LinkReceiverConfig,
    post: PostEvent,
    budget: WriteBudget,
    onAlive: () => void,
  ) {
    this.#config = config;
    this.#check = {
      key: config.key === undefined ? undefined : Buffer.from(config.key),
      session: Buffer.from(config.session),
      frameSize: config.frameSize,
      maxTransferBytes: config.maxTransferBytes,
    };
    this.#post = post;
    this.#budget = budget;
    this.#memoryLeft = config.memoryBudget;
    this.#slabs = new SlabPool(SPARE_SLABS);
    this.#onAlive = onAlive;
  }

  /** The node is done with `bytes` of the memory budget, and gives `buffers` back to fill again. */
  release(bytes: number, buffers: readonly ArrayBuffer[] = []): void {
    this.#memoryLeft += bytes;
    this.#slabs.giveBack(buffers);
  }

  /** Drops a transfer's data (removes its file, gives its memory back). Never rejects. */
  async #discard(t: Incoming): Promise<void> {
    await t.data.discard();
    if (t.budgeted) this.release(t.total);
  }

  /**
   * Takes one received frame. Without `hold` its buffer is the caller's to
   * give away (a datagram's), and may be kept; with it, the buffer is only
   * lent (a view of the ring): valid during this call, and beyond it only
   * while held.
   */
  accept(buf: Buffer, hold?: Hold): void {
    const f = openFrame(buf, this.#check);
    if (typeof f === 'string') {
      this.#reject(f, f === 'authentication failed' ? claimedTransfer(buf) : undefined);
      return;
    }
    this.#onAlive();
    if (f.type === FrameType.data) this.#data(f, hold);
    else if (f.type === FrameType.abort) this.#abort(f.transfer);
    this.#advance(f.watermark);
    const open = f.type === FrameType.heartbeat ? readNumbers(f.data) : undefined;
    if (open) this.#sweep(f.total, open);
  }

  #reject(reason: string, claimed: number | undefined): void {
    this.#rejected++;
    this.#lastRejection = reason;
    // Only ever makes a transfer that is lost anyway be reported as corrupt.
    if (claimed === undefined || this.#isResolved(claimed)) return;
    if (claimed > this.#decidedBelow + MAX_DAMAGED) return; // no transfer of this link, yet
    const t = this.#active.get(claimed);
    if (t) t.damaged = true;
    else if (this.#damaged.size < MAX_DAMAGED) this.#damaged.add(claimed);
  }

  /** Starts writing every transfer's pending frames (before waiting for more: see `IncomingData.flush`). */
  flush(): void {
    for (const t of this.#active.values()) t.data.flush();
  }

  /** The frame counts since the last call, reset. */
  takeCounts():
    | { ignored: number; rejected: number; lastRejection: string | undefined }
    | undefined {
    if (this.#ignored === 0 && this.#rejected === 0) return undefined;
    const counts = {
      ignored: this.#ignored,
      rejected: this.#rejected,
      lastRejection: this.#lastRejection,
    };
    this.#ignored = 0;
    this.#rejected = 0;
    return counts;
  }

  #isResolved(n: number): boolean {
    if (n < this.#resolvedBelow) return true;
    return n < this.#decidedBelow ? !this.#undecided.has(n) : this.#resolved.has(n);
  }

  #data(f: Frame, hold: Hold | undefined): void {
    if (this.#isResolved(f.transfer)) {
      this.#ignored++; // a copy, or a frame of a transfer already given up
      return;
    }
    let t = this.#active.get(f.transfer);
    if (!t) {
      t = this.#open(f);
    } else if (f.count !== t.count || f.total !== t.total) {
      this.#reject(`frame does not match transfer ${f.transfer}`, undefined);
      return;
    }
    if (t.seen[f.seq]) {
      this.#ignored++;
      return;
    }
    t.seen[f.seq] = 1;
    t.arrived++;
    t.received += f.data.length;
    if (f.header) t.header = Uint8Array.from(f.header);
    // Kept only where it belongs: frames that overlap could leave bytes of a slab unwritten.
    if (this.#inPlace(t, f)) t.data.put(f.offset, f.data, hold);
    else t.misplaced = true;
    if (t.arrived === t.count) this.#complete(t);
  }

  /**
   * Whether `f` lies where the sending end puts the frames of `t`: back to
   * back from offset 0, the first one holding `room - headerSize` bytes,
   * every other `room` at most (a frame holds no more). Frame `seq` then
   * starts at `firstRoom + (seq - 1) * room`: the first frame to arrive
   * tells `firstRoom`, and every other must agree. Frames so placed cannot
   * overlap, so once they are all in and add up to the total (checked on
   * completion) they cover every byte of it.
   */
  #inPlace(t: Incoming, f: Frame): boolean {
    const room = dataRoom(1, 0, this.#config.frameSize);
    const firstRoom = f.seq === 0 ? room - f.headerSize : f.offset - (f.seq - 1) * room;
    t.firstRoom ??= firstRoom;
    return firstRoom === t.firstRoom && (f.seq !== 0 || f.offset === 0);
  }

  #open(f: Frame): Incoming {
    const path = join(this.#config.spoolDir, `link-${++this.#files}`);
    const strict = this.#config.transport === 'udp';
    const small = f.total <= this.#config.memoryLimit;
    const budgeted = !small && f.total <= this.#memoryLeft;
    if (budgeted) this.#memoryLeft -= f.total;
    const t: Incoming = {
      number: f.transfer,
      count: f.count,
      total: f.total,
      seen: new Uint8Array(f.count),
      arrived: 0,
      received: 0,
      header: undefined,
      data: new IncomingData(small || budgeted, path, f.total, this.#budget, strict, this.#slabs),
      budgeted,
      damaged: this.#damaged.delete(f.transfer),
      firstRoom: undefined,
      misplaced: false,
    };
    this.#active.set(f.transfer, t);
    return t;
  }

  #resolve(n: number): void {
    this.#active.delete(n);
    if (n < this.#decidedBelow) this.#undecided.delete(n);
    else this.#resolved.add(n);
  }

  #complete(t: Incoming): void {
    t.data.flush(); // its held frames go to disk now, not behind earlier transfers' settling
    this.#resolve(t.number);
    // Settling takes a while for spooled transfers: keep completions in arrival order.
    this.#finishing = this.#finishing.then(() => this.#finish(t));
  }

  /** Posts a transfer whose frames are all in, or reports why it cannot be. Never rejects. */
  async #finish(t: Incoming): Promise<void> {
    await t.data.settle();
    const name = `transfer ${t.number}`;
    if (t.data.error !== undefined) {
      await this.#discard(t);
      const text = t.data.error instanceof Error ? t.data.error.message : String(t.data.error);
      this.#post({
        type: 'lost',
        transfer: t.number,
        kind: 'lost',
        reason: `could not be spooled: ${text}`,
      });
      return;
    }
    if (!t.header || t.received !== t.total || t.misplaced) {
      await this.#discard(t);
      this.#post({
        type: 'lost',
        transfer: t.number,
        kind: 'corrupt',
        reason: `${name} does not add up`,
      });
      return;
    }
    const { header } = t;
    const chunks = t.data.pieces;
    const digest = await this.#digests.take(
      header,
      chunks ? { pieces: chunks } : { path: t.data.path as string },
    );
    // The slabs are handed over, not copied: each one once.
    const buffers = new Set<ArrayBuffer>([header.buffer as ArrayBuffer]);
    for (const c of chunks ?? []) buffers.add(c.buffer as ArrayBuffer);
    const transfer = [...buffers];
    const event = {
      type: 'complete',
      transfer: t.number,
      header,
      size: t.total,
      chunks,
      budgeted: t.budgeted,
      path: t.data.path,
      digest,
    } as const;
    this.#post(event, transfer);
  }

  /** The sending end aborted a transfer (its upload failed): discard it. */
  #abort(n: number): void {
    if (this.#isResolved(n)) return;
    const t = this.#active.get(n);
    this.#resolve(n);
    this.#damaged.delete(n);
    if (t) this.#finishing = this.#finishing.then(() => this.#discard(t));
    this.#post({
      type: 'lost',
      transfer: n,
      kind: 'aborted',
      reason: 'its upload failed at the sender node',
    });
  }

  /** Every transfer below `watermark` has left the sending end: those not complete are lost. */
  #advance(watermark: number): void {
    if (watermark <= this.#resolvedBelow) return;
    for (let n = this.#resolvedBelow; n < watermark; n++) {
      if (!this.#isResolved(n)) this.#lost(n);
      this.#resolved.delete(n);
      this.#undecided.delete(n);
    }
    this.#resolvedBelow = watermark;
    if (watermark > this.#decidedBelow) this.#decidedBelow = watermark;
  }

  /**
   * A heartbeat's view: every transfer below `limit` that is not `open` has
   * left the sending end whole, so one not complete here is lost, even
   * while an older transfer is still on its way (a stalled upload). Each
   * sweep only looks at what is new since the last one, and at the few
   * transfers that were still open then.
   */
  #sweep(limit: number, open: number[]): void {
    const stillOpen = new Set(open);
    for (const n of [...this.#undecided]) {
      // Not listed any more, and below the limit: it has left whole (a list cut short says nothing above it).
      if (n >= limit || stillOpen.has(n)) continue;
      this.#undecided.delete(n);
      this.#lost(n);
    }
    for (let n = this.#decidedBelow; n < limit; n++) {
      const done = this.#resolved.delete(n);
      if (stillOpen.has(n)) {
        if (!done) this.#undecided.add(n);
      } else if (!done) {
        this.#lost(n);
      }
    }
    if (limit > this.#decidedBelow) this.#decidedBelow = limit;
  }

  /** Transfer `n` will never complete: reports it and drops what arrived of it. */
  #lost(n: number): void {
    const t = this.#active.get(n);
    t?.data.flush(); // the frames it holds in the ring are let go of soon
    this.#active.delete(n);
    const damaged = this.#damaged.delete(n) || (t?.damaged ?? false);
    const missing = t
      ? `${t.count - t.arrived} of its ${t.count} frames missing`
      : 'none of its frames arrived';
    const why = damaged
      ? `${missing}, and a frame of it failed authentication`
      : t?.misplaced
        ? `${missing}, and a frame of it was out of place`
        : missing;
    const kind = damaged || t?.misplaced ? 'corrupt' : 'lost';
    this.#post({ type: 'lost', transfer: n, kind, reason: why });
    if (t) this.#finishing = this.#finishing.then(() => this.#discard(t));
  }

  /** Drops every transfer in progress and removes their spool files; waits for the completed ones to be posted. */
  async close(): Promise<void> {
    const open = [...this.#active.values()];
    this.#active.clear();
    await Promise.all([this.#finishing, ...open.map((t) => this.#discard(t))]);
  }
}
