/**
 * Where the receiving end of the link keeps a transfer's data while its
 * frames arrive: in memory for small transfers, else in a spool file,
 * written at each frame's offset. Frames that follow each other are
 * written together (one write per frame could not keep up on a busy disk).
 * The bytes waiting for the disk, over all transfers, are counted in a
 * shared {@link WriteBudget}: the receiving end slows the stream transport
 * down, or fails transfers on the UDP one, when the disk falls behind.
 */
import { type FileHandle, open, unlink } from 'node:fs/promises';

/** Frames that follow each other are written together, up to this many bytes per write. */
const BATCH_BYTES = 1024 * 1024;
/** Writes of one transfer in flight at once (at explicit offsets, so they may overlap). */
const WRITES_IN_FLIGHT = 3;

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

/** One transfer's data. */
export class IncomingData {
  /** The data of a transfer kept in memory: each frame's data, by sequence number. */
  readonly pieces: Buffer[] | undefined;
  /** The spool file of a large transfer. */
  readonly path: string | undefined;
  /** Why the data could not be kept, if it could not. */
  error: unknown;
  readonly #budget: WriteBudget;
  /** When strict, a write over the budget fails the transfer (UDP); else it is taken anyway. */
  readonly #strict: boolean;
  /** The spool file, once opened (undefined when it could not be); never rejects. */
  #file: Promise<FileHandle | undefined> | undefined;
  /** Writes in flight; each never rejects. */
  readonly #writes = new Set<Promise<void>>();
  #batch: Buffer[] = [];
  #batchOffset = 0;
  #batchBytes = 0;

  constructor(inMemory: boolean, path: string, budget: WriteBudget, strict: boolean) {
    this.pieces = inMemory ? [] : undefined;
    this.path = inMemory ? undefined : path;
    this.#budget = budget;
    this.#strict = strict;
  }

  #failed(err: unknown): undefined {
    this.error ??= err;
    return undefined;
  }

  /** Keeps the data of frame `seq` (the buffer is kept as it is, and must not be reused). */
  put(seq: number, offset: number, data: Buffer): void {
    if (this.pieces) {
      this.pieces[seq] = data;
      return;
    }
    if (this.error !== undefined) return;
    if (this.#strict && !this.#budget.fits(data.length)) {
      this.error = new Error(
        `receiver overrun: more than ${this.#budget.limit} bytes waiting for the disk`,
      );
      this.#budget.add(-this.#batchBytes); // the pending batch will never be written
      this.#batch = [];
      this.#batchBytes = 0;
      return;
    }
    this.#file ??= open(this.path as string, 'wx', 0o600).catch((err: unknown) =>
      this.#failed(err),
    );
    if (this.#batchBytes > 0 && offset !== this.#batchOffset + this.#batchBytes) this.#flush();
    if (this.#batchBytes === 0) this.#batchOffset = offset;
    this.#batch.push(data);
    this.#batchBytes += data.length;
    this.#budget.add(data.length);
    if (this.#batchBytes >= BATCH_BYTES) this.#flush();
  }

  /** Starts one write of the pending contiguous frames (after older ones, when too many are in flight). */
  #flush(): void {
    const buffers = this.#batch;
    const offset = this.#batchOffset;
    const bytes = this.#batchBytes;
    if (bytes === 0) return;
    this.#batch = [];
    this.#batchBytes = 0;
    const before = this.#writes.size >= WRITES_IN_FLIGHT ? [...this.#writes] : [];
    const write = (async () => {
      if (before.length > 0) await Promise.race(before);
      const file = await this.#file;
      if (file && this.error === undefined) {
        await file.writev(buffers, offset).catch((err: unknown) => this.#failed(err));
      }
      this.#budget.add(-bytes);
    })();
    this.#writes.add(write);
    void write.then(() => this.#writes.delete(write));
  }

  /** Waits for the writes and closes the spool file: then the data is all on disk. Never rejects. */
  async settle(): Promise<void> {
    this.#flush();
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
