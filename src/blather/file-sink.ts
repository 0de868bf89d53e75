/**
 * Writes a raw payload to a file as it arrives, in batches of chunks (a
 * slow disk slows the socket reads: backpressure, with bounded memory).
 */
import { type FileHandle, open, unlink } from 'node:fs/promises';
import { toDdmwError } from '../err.ts';

/** Feeds chunks to a callback until the payload is complete (rejects if the data ends early). */
export type ChunkFeed = (onChunk: (chunk: Buffer) => Promise<void>) => Promise<void>;

/**
 * Creates (or truncates) `path` and writes every chunk of `feed` to it. If
 * the file cannot be opened or written, the feed still runs to its end (so
 * the byte stream stays in sync) and the call then rejects with `IO`. On any
 * failure the partial file is removed.
 */
export async function writeChunksToFile(
  path: string,
  mode: number | undefined,
  feed: ChunkFeed,
): Promise<void> {
  let fh: FileHandle | undefined;
  let writeError: unknown;
  try {
    fh = await open(path, 'w', mode);
  } catch (err) {
    writeError = err;
  }
  const opened = fh !== undefined;
  const writer = fh ? new BatchWriter(fh) : undefined;
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
const BATCH_BYTES = 1024 * 1024;

/**
 * Appends chunks to a file in batches: chunks are copied into one of two
 * reused 1 MiB buffers, one being written while the other fills. Memory
 * stays at 2 MiB however long the payload, and a chunk is no longer needed
 * once `add` has settled (a lending source may then reuse it).
 */
class BatchWriter {
  readonly #fh: FileHandle;
  #batch: Buffer | undefined;
  #spare: Buffer | undefined;
  #fill = 0;
  #inflight: Promise<void> = Promise.resolve();
  /** The error of a finished write, kept until the next call reports it. */
  #error: unknown;

  constructor(fh: FileHandle) {
    this.#fh = fh;
  }

  /** Copies a chunk in; waits only when a full batch must wait for the previous write. */
  async add(chunk: Buffer): Promise<void> {
    let at = 0;
    while (at < chunk.length) {
      this.#batch ??= Buffer.allocUnsafe(BATCH_BYTES);
      const copied = chunk.copy(this.#batch, this.#fill, at);
      this.#fill += copied;
      at += copied;
      if (this.#fill === BATCH_BYTES) await this.#startWrite();
    }
  }

  /** Writes what is left and waits for every write. */
  async finish(): Promise<void> {
    await this.#startWrite();
    await this.#inflight;
    if (this.#error !== undefined) throw this.#error;
  }

  async #startWrite(): Promise<void> {
    await this.#inflight;
    if (this.#error !== undefined) throw this.#error;
    const batch = this.#batch;
    if (!batch || this.#fill === 0) return;
    const bytes = batch.subarray(0, this.#fill);
    // The buffer being written becomes the spare once its write is done.
    this.#batch = this.#spare;
    this.#spare = batch;
    this.#fill = 0;
    this.#inflight = writeAll(this.#fh, bytes).then(
      () => {},
      (err: unknown) => {
        this.#error = err;
      },
    );
  }
}

/** Writes all of `bytes` at the file's current position (a write may take fewer bytes than asked). */
async function writeAll(fh: FileHandle, bytes: Buffer): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.length - done, null);
    done += bytesWritten;
  }
}
