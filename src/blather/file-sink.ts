/**
 * Writes a raw payload to a file as it arrives, one chunk at a time
 * (awaiting each write, so a slow disk slows the socket reads: backpressure).
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
  try {
    await feed(async (chunk) => {
      if (writeError !== undefined || !fh) return;
      try {
        await fh.write(chunk);
      } catch (err) {
        writeError = err;
      }
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
