/**
 * Writes a raw payload to a file as it arrives, in batches of chunks (a
 * slow disk slows the socket reads: backpressure, with bounded memory).
 */
import { type FileHandle, open, unlink } from 'node:fs/promises';
import { toDdmwError } from '../err.ts';

/** Feeds chunks to a callback until the payload is complete (rejects if the data ends early). */
export type ChunkFeed = (onChunk: (chunk: Buffer) => Promise<void>) => Promise<void>;

/**
 * Creates (or truncates) `path` and writes every chunk of `feed` to it
 * (`copy`: the chunks are lent and must be copied before `onChunk` settles). If
 * the file cannot be opened or written, the feed still runs to its end (so
 * the byte stream stays in sync) and the call then rejects with `IO`. On any
 * failure the partial file is removed.
 */
export async function writeChunksToFile(
  path: string,
  mode: number | undefined,
  feed: ChunkFeed,
  { copy = false }: { copy?: boolean } = {},
): Promise<void> {
  let fh: FileHandle | undefined;
  let writeError: unknown;
  try {
    fh = await open(path, 'w', mode);
  } catch (err) {
    writeError = err;
  }
  const opened = fh !== undefined;
  const writer = fh ? new BatchWriter(fh, copy) : undefined;
  try {
    await feed(async (chunk) => {
      if (writeError !== undefined || !writer) return;
      try {
        await writer.add(chunk);
      } catch (err) {
        writeError = err;
      }
    });
    if (writeError === undefined)
      await writer?.finish().catch((err: unknown) => {
        writeError = err;
      });
    const handle = fh;
    fh = undefined;
    await handle?.close();
    if (writeError !== undefined) throw toDdmwError(writeError, `Cannot write payload to ${path}`);
  } catch (err) {
    await fh?.close().catch(() => {});
    // Remove only a file this call created or truncated, never one it could not open.
    if (opened) await unlink(path).catch(() => {});
    throw err;
  }
}

/** Bytes gathered before one write: far fewer system calls than a write per socket chunk. */
const BATCH_BYTES = 2 * 1024 * 1024;

/**
 * Batches written at once. A write to the file system takes a trip through
 * the thread pool; with several under way, the disk keeps pace with the
 * socket instead of the socket waiting for each write in turn.
 */
const MAX_WRITES_IN_FLIGHT = 2;

/**
 * Appends chunks to a file in batches of about 2 MiB, each written at its
 * own offset while the next ones gather. Owned chunks are written as they
 * are (`writev`, no copy). Lent chunks (`copy`) are copied into reused
 * buffers, so they are no longer needed once `add` has settled and memory
 * stays flat however long the payload. Either way at most
 * {@link MAX_WRITES_IN_FLIGHT} + 1 batches are held.
 */
class BatchWriter {
  readonly #fh: FileHandle;
  readonly #copy: boolean;
  /** The batch being gathered: chunk references, or one reused buffer when copying. */
  #pieces: Buffer[] = [];
  #fill = 0;
  /** File offset of the current batch. */
  #offset = 0;
  /** Writes under way, oldest first, each with the buffer it holds when copying. */
  readonly #inflight: { done: Promise<void>; buffer: Buffer | undefined }[] = [];
  /** Copy buffers whose writes are done, ready to fill again. */
  readonly #free: Buffer[] = [];
  #copyBuffer: Buffer | undefined;
  /** The error of a finished write, kept until the next call reports it. */
  #error: unknown;

  constructor(fh: FileHandle, copy: boolean) {
    this.#fh = fh;
    this.#copy = copy;
  }

  /** Takes a chunk; waits only when every batch is being written. */
  async add(chunk: Buffer): Promise<void> {
    if (!this.#copy) {
      this.#pieces.push(chunk);
      this.#fill += chunk.length;
      if (this.#fill >= BATCH_BYTES) await this.#startWrite();
      return;
    }
    let at = 0;
    while (at < chunk.length) {
      this.#copyBuffer ??= this.#free.pop() ?? Buffer.allocUnsafe(BATCH_BYTES);
      const copied = chunk.copy(this.#copyBuffer, this.#fill, at);
      this.#fill += copied;
      at += copied;
      if (this.#fill === BATCH_BYTES) await this.#startWrite();
    }
  }

  /** Writes what is left and waits for every write. */
  async finish(): Promise<void> {
    await this.#startWrite();
    while (this.#inflight.length > 0) await this.#settleOldest();
  }

  /** Starts writing the current batch; first waits for a write slot if all are taken. */
  async #startWrite(): Promise<void> {
    while (this.#inflight.length >= MAX_WRITES_IN_FLIGHT) await this.#settleOldest();
    if (this.#error !== undefined) throw this.#error;
    if (this.#fill === 0) return;
    const buffer = this.#copyBuffer;
    const pieces = buffer ? [buffer.subarray(0, this.#fill)] : this.#pieces;
    const done = writeAll(this.#fh, pieces, this.#offset).then(
      () => {},
      (err: unknown) => {
        this.#error ??= err;
      },
    );
    this.#inflight.push({ done, buffer });
    this.#offset += this.#fill;
    this.#pieces = [];
    this.#copyBuffer = undefined;
    this.#fill = 0;
  }

  async #settleOldest(): Promise<void> {
    const oldest = this.#inflight.shift();
    if (!oldest) return;
    await oldest.done;
    if (oldest.buffer) this.#free.push(oldest.buffer);
    if (this.#error !== undefined) throw this.#error;
  }
}

/** Writes all of `pieces` at `position` (a write may take fewer bytes than asked). */
export async function writeAll(fh: FileHandle, pieces: Buffer[], position: number): Promise<void> {
  let at = position;
  let rest = pieces;
  while (rest.length > 0) {
    const { bytesWritten } = await fh.writev(rest, at);
    if (bytesWritten === 0) throw new Error('the file system took no bytes (disk full?)');
    at += bytesWritten;
    rest = dropBytes(rest, bytesWritten);
  }
}

/** The pieces left after the first `n` bytes. */
function dropBytes(pieces: Buffer[], n: number): Buffer[] {
  let skip = n;
  let i = 0;
  while (i < pieces.length && skip >= (pieces[i] as Buffer).length) {
    skip -= (pieces[i] as Buffer).length;
    i++;
  }
  const rest = pieces.slice(i);
  if (skip > 0 && rest.length > 0) rest[0] = (rest[0] as Buffer).subarray(skip);
  return rest;
}
