/**
 * Where the receiving end of the link keeps a transfer's data while its
 * frames arrive: in memory for small transfers (copied into slabs of 1 MiB
 * at each frame's offset), else in a spool file, written at each frame's
 * offset. Frames that follow each other are
 * written together (one write per frame could not keep up on a busy disk).
 * A frame only lent (a view of the ring the frames arrive in) is written
 * from where it lies, and held there until written: copying out of shared
 * memory is slow (a few GB/s).
 * The bytes waiting for the disk, over all transfers, are counted in a
 * shared {@link WriteBudget}: the receiving end slows the stream transport
 * down, or fails transfers on the UDP one, when the disk falls behind.
 */
import { type FileHandle, open, unlink } from 'node:fs/promises';
import { writeAll } from '../../blather/file-sink.ts';
import { copyShared } from './ring.ts';

/** Frames that follow each other are written together, up to this many bytes per write. */
const BATCH_BYTES = 1024 * 1024;
/** Writes of one transfer in flight at once (at explicit offsets, so they may overlap). */
const WRITES_IN_FLIGHT = 3;

/**
 * Keeps a lent frame's bytes valid beyond the call that lent it; returns
 * the function that gives them back (called exactly once).
 */
export type Hold = () => () => void;

/** Bytes handed to spool writes that have not completed, over all transfers. */
export class WriteBudget {
  /** Bytes waiting for the disk. */
  bytes = 0;
  readonly limit: number;
  readonly #onChange: () => void;

  constructor(limit: number, onChange: () => void) {
    this.limit = limit;
    this.#onChange = onChange;
  }

  /** Whether `n` more bytes fit. */
  fits(n: number): boolean {
    return this.bytes + n <= this.limit;
  }

  add(n: number): void {
    this.bytes += n;
    this.#onChange();
  }
}

/**
 * Bytes of a slab: a transfer kept in memory is cut into slabs of this
 * size (the last one shorter). They go to the receiver node with the
 * transfer, moved between threads, and each one moved costs: a 64 MiB
 * message as 1,050 frame buffers reached the node 7-9 ms after it was
 * posted, as 64 slabs about 1 ms.
 */
export const SLAB_SIZE = 1024 * 1024;

/**
 * Slabs for the transfers kept in memory. A full slab goes to the receiver
 * node with its transfer and comes back once the node is done with it, to
 * be filled again: memory touched for the first time costs more than the
 * copy into it. At most `spares` wait for reuse.
 */
export class SlabPool {
  readonly #spares: number;
  readonly #free: ArrayBuffer[] = [];

  constructor(spares: number) {
    this.#spares = spares;
  }

  /**
   * A buffer of `size` bytes (at most {@link SLAB_SIZE}) of its own (it may
   * be moved to another thread): a pooled slab when full, else one of its
   * own size (a small message must not keep a whole slab's memory while it
   * waits in a queue that counts its size).
   */
  take(size: number): Buffer {
    const memory =
      size === SLAB_SIZE
        ? (this.#free.pop() ?? Buffer.allocUnsafeSlow(SLAB_SIZE).buffer)
        : Buffer.allocUnsafeSlow(size).buffer;
    return Buffer.from(memory, 0, size);
  }

  /** Takes buffers back (those of another size are dropped). */
  giveBack(buffers: readonly ArrayBuffer[]): void {
    for (const b of buffers) {
      if (this.#free.length >= this.#spares) return;
      if (b.byteLength === SLAB_SIZE) this.#free.push(b);
    }
  }
}

/** One transfer's data. */
export class IncomingData {
  /** The slabs of a transfer kept in memory, in order; each taken when a frame first writes to it. */
  readonly #slabs: (Buffer | undefined)[] | undefined;
  /** The spool file of a large transfer. */
  readonly path: string | undefined;
  /** Why the data could not be kept, if it could not. */
  error: unknown;
  readonly #total: number;
  readonly #budget: WriteBudget;
  readonly #slabPool: SlabPool;
  /** When strict, a write over the budget fails the transfer (UDP); else it is taken anyway. */
  readonly #strict: boolean;
  /** The spool file, once opened (undefined when it could not be); never rejects. */
  #file: Promise<FileHandle | undefined> | undefined;
  /** Writes in flight; each never rejects. */
  readonly #writes = new Set<Promise<void>>();
  #batch: Buffer[] = [];
  /** Gives back the lent frames of the batch. */
  #batchHolds: (() => void)[] = [];
  #batchOffset = 0;
  #batchBytes = 0;

  constructor(
    inMemory: boolean,
    path: string,
    total: number,
    budget: WriteBudget,
    strict: boolean,
    slabs: SlabPool,
  ) {
    this.#slabs = inMemory ? [] : undefined;
    this.path = inMemory ? undefined : path;
    this.#total = total;
    this.#budget = budget;
    this.#slabPool = slabs;
    this.#strict = strict;
  }

  /**
   * The data of a transfer kept in memory, as its slabs in order (once
   * every frame is in: the receiving end checks that they tile the
   * transfer); `undefined` for a spooled one.
   */
  get pieces(): Buffer[] | undefined {
    return this.#slabs as Buffer[] | undefined;
  }

  /** Copies `data` into the slabs at `offset` (the frame checks keep it within the transfer). */
  #copyIn(offset: number, data: Buffer): void {
    const slabs = this.#slabs as (Buffer | undefined)[];
    let at = 0;
    while (at < data.length) {
      const index = Math.floor((offset + at) / SLAB_SIZE);
      const into = (offset + at) % SLAB_SIZE;
      let slab = slabs[index];
      if (!slab) {
        slab = this.#slabPool.take(Math.min(SLAB_SIZE, this.#total - index * SLAB_SIZE));
        slabs[index] = slab;
      }
      const n = Math.min(data.length - at, slab.length - into);
      copyShared(slab, into, data.subarray(at, at + n));
      at += n;
    }
  }

  #failed(err: unknown): undefined {
    this.error ??= err;
    return undefined;
  }

  /**
   * Keeps the data of the frame at `offset`: copied into the slabs when
   * kept in memory; written to the spool file otherwise. With `hold` the
   * buffer is only lent (a view of the ring), and held until written.
   */
  put(offset: number, data: Buffer, hold?: Hold): void {
    if (this.#slabs) {
      this.#copyIn(offset, data);
      return;
    }
    if (this.error !== undefined) return;
    if (this.#strict && !this.#budget.fits(data.length)) {
      this.error = new Error(
        `receiver overrun: more than ${this.#budget.limit} bytes waiting for the disk`,
      );
      this.#budget.add(-this.#batchBytes); // the pending batch will never be written
      for (const release of this.#batchHolds.splice(0)) release();
      this.#batch = [];
      this.#batchBytes = 0;
      return;
    }
    this.#file ??= open(this.path as string, 'wx', 0o600).catch((err: unknown) =>
      this.#failed(err),
    );
    if (this.#batchBytes > 0 && offset !== this.#batchOffset + this.#batchBytes) this.flush();
    if (this.#batchBytes === 0) this.#batchOffset = offset;
    this.#batch.push(data);
    if (hold) this.#batchHolds.push(hold());
    this.#batchBytes += data.length;
    this.#budget.add(data.length);
    if (this.#batchBytes >= BATCH_BYTES) this.flush();
  }

  /**
   * Starts one write of the pending contiguous frames (after older ones,
   * when too many are in flight). Called when a batch is full, and by the
   * receiving end before it waits for more frames: lent frames held in a
   * batch that waits could otherwise keep the ring full.
   */
  flush(): void {
    const buffers = this.#batch;
    const holds = this.#batchHolds;
    const offset = this.#batchOffset;
    const bytes = this.#batchBytes;
    if (bytes === 0) return;
    this.#batch = [];
    this.#batchHolds = [];
    this.#batchBytes = 0;
    const before = this.#writes.size >= WRITES_IN_FLIGHT ? [...this.#writes] : [];
    const write = (async () => {
      try {
        if (before.length > 0) await Promise.race(before);
        const file = await this.#file;
        if (file && this.error === undefined) {
          await writeAll(file, buffers, offset).catch((err: unknown) => this.#failed(err));
        }
      } finally {
        this.#budget.add(-bytes);
        for (const release of holds) release();
      }
    })();
    this.#writes.add(write);
    void write.then(() => this.#writes.delete(write));
  }

  /** Waits for the writes and closes the spool file: then the data is all on disk. Never rejects. */
  async settle(): Promise<void> {
    this.flush();
    while (this.#writes.size > 0) await Promise.all([...this.#writes]);
    const file = await this.#file;
    this.#file = Promise.resolve(undefined);
    await file?.close().catch((err: unknown) => this.#failed(err));
  }

  /** Closes and removes the spool file, if any. Never rejects. */
  async discard(): Promise<void> {
    await this.settle();
    if (this.path) await unlink(this.path).catch(() => {});
  }
}
