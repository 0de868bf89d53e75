/**
 * Chunk feeds for `writeChunksToFile`: a payload handed over in chunks of a
 * chosen size, either owned (views nobody touches again) or lent (one scratch
 * buffer, overwritten as soon as each `onChunk` settles, as a socket reader
 * reuses its buffer). Each feed counts what it delivered.
 */
import { setImmediate as turn } from 'node:timers/promises';
import type { ChunkFeed } from '../../src/blather/file-sink.ts';

/** A feed and how many chunks and bytes it has handed over so far. */
export interface CountedFeed {
  feed: ChunkFeed;
  readonly chunks: number;
  readonly bytes: number;
}

/** How a feed hands over its chunks. */
export interface FeedOptions {
  /** Lend one reused buffer instead of owned views. */
  lent?: boolean;
  /** Yield to the event loop between chunks (a socket's pace) instead of only to microtasks. */
  slow?: boolean;
  /** Reject with this once `failAfter` bytes (default 0) are handed over, instead of finishing. */
  fail?: Error;
  failAfter?: number;
}

/** Feeds `payload` in chunks of `size` bytes (the last one shorter). */
export function feedOf(payload: Buffer, size: number, opts: FeedOptions = {}): CountedFeed {
  let chunks = 0;
  let bytes = 0;
  const scratch = Buffer.alloc(size);
  const feed: ChunkFeed = async (onChunk) => {
    for (let at = 0; at < payload.length; at += size) {
      if (opts.fail && at >= (opts.failAfter ?? 0)) throw opts.fail;
      const piece = payload.subarray(at, Math.min(at + size, payload.length));
      const chunk = opts.lent ? scratch.subarray(0, piece.copy(scratch)) : piece;
      chunks++;
      bytes += chunk.length;
      await onChunk(chunk);
      // A lent chunk is gone once onChunk settles: whoever kept it now sees garbage.
      if (opts.lent) scratch.fill(0xee);
      if (opts.slow) await turn();
    }
    if (opts.fail) throw opts.fail;
  };
  return {
    feed,
    get chunks() {
      return chunks;
    },
    get bytes() {
      return bytes;
    },
  };
}
