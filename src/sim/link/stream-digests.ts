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
 */
import { createHash, type Hash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { decodeHeader, STREAM_TOPICS } from './transfer-header.ts';

/** Streams hashed at once; beyond, the oldest is forgotten (the node aborts it at its end). */
export const MAX_HASHED_STREAMS = 1024;

/** A stream being hashed. */
interface Hashed {
  hash: Hash;
  /** The `Seq` of the next segment. */
  seq: number;
}

/** Where a completed transfer's data is: in memory or in its spool file. */
export type TransferData = { pieces: readonly Uint8Array[] } | { path: string };

export class StreamDigests {
  readonly #streams = new Map<string, Hashed>();

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
    const streams = this.#streams;
    switch (tg.topic) {
      case STREAM_TOPICS.start: {
        if (streams.size >= MAX_HASHED_STREAMS)
          streams.delete(streams.keys().next().value as string);
        streams.set(xferId, { hash: createHash('sha256'), seq: 0 });
        return undefined;
      }
      case STREAM_TOPICS.segment: {
        const s = streams.get(xferId);
        if (!s) return undefined;
        if (tg.params.get('Seq') !== String(s.seq) || !(await hashData(s.hash, data))) {
          streams.delete(xferId);
          return undefined;
        }
        s.seq++;
        return undefined;
      }
      case STREAM_TOPICS.end: {
        const s = streams.get(xferId);
        streams.delete(xferId);
        return s?.hash.digest('hex');
      }
      default:
        streams.delete(xferId);
        return undefined;
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
