/**
 * One transfer on its way onto the link. Its bytes are pushed in as they
 * arrive from the uploading client (cut-through: the link carries a frame
 * as soon as the bytes for it are in) and taken out by the link's sending
 * end, frame by frame. At most {@link BUFFER_LIMIT} bytes wait in between:
 * beyond that `push` returns false and the uploader waits for `drained()`,
 * which slows the client's socket down. An upload that fails midway aborts
 * the transfer, and the receiving end discards it.
 */
import type { BurstState, FrameFate } from './faults.ts';
import { frameCount } from './format.ts';

/** Bytes that may wait for the link in one transfer before the uploader is held back. */
export const BUFFER_LIMIT = 8 * 1024 * 1024;

/** What a transfer carries, for loss reports. */
export interface TransferInfo {
  what: 'message' | 'stream';
  xferId: string;
  /** Canonical channel, when known. */
  ch: string | undefined;
}

/** A transfer's bytes between its upload and the link. */
export class OutgoingTransfer {
  /** Number on the link, from 1. */
  readonly number: number;
  /** The transfer header: an encoded blather telegram. */
  readonly header: Buffer;
  /** Data bytes announced. */
  readonly total: number;
  /** Data frames it takes. */
  readonly count: number;
  readonly info: TransferInfo;
  /** The burst fault model's state, moved on frame by frame. */
  readonly burst: BurstState;
  /** A frame the reorder model holds back, sent after the next one, and its copies' fates. */
  held: { frame: Buffer; fates: FrameFate[] } | undefined;
  /** Next data frame to build, and where its data starts. */
  seq = 0;
  offset = 0;
  /** Settles once the transfer has left (whole or aborted) or the link closed. */
  readonly sent: Promise<void>;
  #chunks: Buffer[] = [];
  /** Bytes of the first chunk already taken. */
  #chunkAt = 0;
  #buffered = 0;
  #pushed = 0;
  #aborted: string | undefined;
  #drainWaiters: (() => void)[] = [];
  readonly #onReady: () => void;
  #markSent!: () => void;

  constructor(
    number: number,
    header: Buffer,
    total: number,
    frameSize: number,
    info: TransferInfo,
    burst: BurstState,
    onReady: () => void,
  ) {
    this.number = number;
    this.header = header;
    this.total = total;
    this.count = frameCount(total, header.length, frameSize);
    this.info = info;
    this.burst = burst;
    this.#onReady = onReady;
    this.sent = new Promise((resolve) => {
      this.#markSent = resolve;
    });
  }

  /** Why the transfer was aborted, if it was. */
  get aborted(): string | undefined {
    return this.#aborted;
  }

  /** Adds bytes (the transfer keeps the buffer). False when the uploader should wait for {@link drained}. */
  push(chunk: Buffer): boolean {
    if (this.#aborted !== undefined) return true; // dropped: the upload is only being drained
    if (this.#pushed + chunk.length > this.total) {
      throw new Error(`Transfer ${this.number}: more than the ${this.total} bytes announced`);
    }
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      this.#pushed += chunk.length;
      this.#onReady();
    }
    return this.#buffered < BUFFER_LIMIT;
  }

  /** Resolves when fewer than {@link BUFFER_LIMIT} bytes wait (or the transfer is over). */
  drained(): Promise<void> {
    if (this.#buffered < BUFFER_LIMIT || this.#aborted !== undefined) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** The upload failed: the transfer is aborted (the link tells the receiving end). */
  abort(reason: string): void {
    if (this.seq === this.count) return; // every frame has been built: too late
    this.fail(reason);
  }

  /** The link cannot carry the transfer: aborted, whatever has been sent of it. */
  fail(reason: string): void {
    if (this.#aborted !== undefined) return;
    this.#aborted = reason;
    this.#chunks = [];
    this.#buffered = 0;
    this.#wakeUploader();
    this.#onReady();
  }

  /** Data bytes of the next frame, given the room it has. */
  nextFrameBytes(room: number): number {
    return Math.min(room, this.total - this.offset);
  }

  /** Whether the link can send its next frame (or its abort) now. */
  ready(room: number): boolean {
    if (this.#aborted !== undefined) return true;
    return this.seq < this.count && this.#buffered >= this.nextFrameBytes(room);
  }

  /** Copies the next `n` bytes into `into` at `at`. */
  take(into: Buffer, at: number, n: number): void {
    let left = n;
    while (left > 0) {
      const chunk = this.#chunks[0] as Buffer;
      const k = Math.min(left, chunk.length - this.#chunkAt);
      chunk.copy(into, at, this.#chunkAt, this.#chunkAt + k);
      at += k;
      left -= k;
      this.#chunkAt += k;
      if (this.#chunkAt === chunk.length) {
        this.#chunks.shift();
        this.#chunkAt = 0;
      }
    }
    this.#buffered -= n;
    if (this.#buffered < BUFFER_LIMIT) this.#wakeUploader();
  }

  /** The transfer has left the sending end (whole, aborted, or dropped as the link closed). */
  done(): void {
    if (this.seq < this.count) this.#aborted ??= 'the link closed';
    this.#chunks = [];
    this.#buffered = 0;
    this.#wakeUploader();
    this.#markSent();
  }

  #wakeUploader(): void {
    for (const wake of this.#drainWaiters.splice(0)) wake();
  }
}
