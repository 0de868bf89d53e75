/**
 * The sha-256 of each stream, computed by the receiving end of the link, in
 * its own thread, as the stream's transfers complete: hashing is the
 * largest cost of a stream on the receiver node (about 125 ms for 200 MiB),
 * and the node's thread also serves every connection. The node still
 * checks the segments' order, count and length (receiver/strm-delivery.ts);
 * it takes the digest from the `StrmEnd` transfer.
 *
 * Transfers are taken here in the order the node gets them, and the rules
 * are the node's: segments hash in `Seq` order from 0, and a stream whose
 * segments come out of order gets no digest (the node aborts it anyway).
 *
 * Memory is bounded: at most `limit` streams are followed at once, the one
 * that has gone longest without a transfer is forgotten first, and one
 * that got nothing for `STREAM_IDLE_MS` (its end was lost: the node gives
 * it up too) is forgotten at the next transfer. A stream forgotten while
 * still open gets no digest, and the node aborts it at its end.
 */
import { createHash, type Hash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { decodeHeader, STREAM_IDLE_MS, STREAM_TOPICS } from './transfer-header.ts';

/** Streams followed at once by default (a hash state is a few hundred bytes). */
export const MAX_HASHED_STREAMS = 16_384;

/** A stream being hashed. */
interface Hashed {
  hash: Hash;
  /** The `Seq` of the next segment. */
  seq: number;
  /** When its last transfer came (`now()`). */
  seen: number;
}

/** Where a completed transfer's data is: in memory or in its spool file. */
export type TransferData = { pieces: readonly Uint8Array[] } | { path: string };

export class StreamDigests {
  /** By transfer id, the least recently active first. */
  readonly #streams = new Map<string, Hashed>();
  readonly #limit: number;
  readonly #now: () => number;

  /** `limit`: streams followed at once; `now`: the clock, in ms. */
  constructor(limit = MAX_HASHED_STREAMS, now: () => number = () => performance.now()) {
    this.#limit = limit;
    this.#now = now;
  }

  /**
   * Takes a completed transfer. Returns the stream's sha-256 (hex) when it
   * is a `StrmEnd` whose segments all came in order, else undefined. Never
   * rejects: what cannot be read gets no digest.
   */
  async take(header: Uint8Array, data: TransferData): Promise<string | undefined> {
    if (!isStreamHeader(header)) return undefined;
    const tg = await decodeHeader(header).catch(() => undefined);
    const xferId = tg?.params.get('XferId');
    if (!tg || xferId === undefined) return undefined;
    const now = this.#now();
    this.#forgetIdle(now);
    const streams = this.#streams;
    const s = streams.get(xferId);
    // Taken out, and put back last if it goes on: the map stays ordered by activity.
    streams.delete(xferId);
    switch (tg.topic) {
      case STREAM_TOPICS.start:
        if (streams.size >= this.#limit) streams.delete(streams.keys().next().value as string);
        streams.set(xferId, { hash: createHash('sha256'), seq: 0, seen: now });
        return undefined;
      case STREAM_TOPICS.segment:
        if (!s || tg.params.get('Seq') !== String(s.seq) || !(await hashData(s.hash, data))) {
          return undefined;
        }
        s.seq++;
        s.seen = now;
        streams.set(xferId, s);
        return undefined;
      case STREAM_TOPICS.end:
        return s?.hash.digest('hex');
      case STREAM_TOPICS.abort:
        return undefined;
      default:
        // Not a stream transfer after all (the node drops it): the stream goes on.
        if (s) streams.set(xferId, s);
        return undefined;
    }
  }

  /** Forgets the streams nothing came for in `STREAM_IDLE_MS` (the least recently active are first). */
  #forgetIdle(now: number): void {
    for (const [xferId, s] of this.#streams) {
      if (now - s.seen < STREAM_IDLE_MS) return;
      this.#streams.delete(xferId);
    }
  }
}

/** Whether a header's topic line starts like a stream topic's (they all start with `Strm`): a cheap first test. */
function isStreamHeader(header: Uint8Array): boolean {
  const prefix = STREAM_TOPICS.start;
  if (header.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (header[i] !== prefix.charCodeAt(i)) return false;
  return true;
}

/** Adds a transfer's data to `hash`; false when its spool file cannot be read. */
async function hashData(hash: Hash, data: TransferData): Promise<boolean> {
  if ('pieces' in data) {
    for (const piece of data.pieces) hash.update(piece);
    return true;
  }
  const bytes = await readFile(data.path).catch(() => undefined);
  if (bytes) hash.update(bytes);
  return bytes !== undefined;
}
