/**
 * Decoding a params or kvlines block that is already wholly in memory (such
 * as message metadata read as exactly its announced bytes). The block must
 * fill the buffer: bytes after its empty line are a `BLATHER` error.
 */
import { DdmwError } from '../err.ts';
import type { KVLines } from './kvlines.ts';
import type { Params } from './params.ts';
import { FrameReader } from './reader.ts';

async function decodeWhole<T>(bytes: Uint8Array, read: (r: FrameReader) => Promise<T>): Promise<T> {
  const reader = new FrameReader(
    (async function* () {
      yield bytes;
    })(),
    { maxLineLength: Number.POSITIVE_INFINITY },
  );
  const block = await read(reader);
  if (reader.buffered !== 0) {
    throw new DdmwError('BLATHER', 'Bytes follow the empty line that ends the block');
  }
  return block;
}

/** Decodes `bytes` as exactly one params block. */
export function decodeParams(bytes: Uint8Array): Promise<Params> {
  return decodeWhole(bytes, (r) => r.readParams());
}

/** Decodes `bytes` as exactly one kvlines block. */
export function decodeKVLines(bytes: Uint8Array): Promise<KVLines> {
  return decodeWhole(bytes, (r) => r.readKVLines());
}
