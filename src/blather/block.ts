/**
 * Decoding a params or kvlines block that is already wholly in memory (such
 * as message metadata read as exactly its announced bytes). The block must
 * fill the buffer: bytes after its empty line are a `BLATHER` error.
 *
 * Limits: the buffer bounds the bytes and the line length already (they are
 * in memory), so only the number of lines is limited. It still needs a
 * limit: each line becomes an entry many times the size of its few bytes.
 */
import { DdmwError } from '../err.ts';
import type { KVLines } from './kvlines.ts';
import type { Params } from './params.ts';
import { FrameReader } from './reader.ts';

/** Options of {@link decodeParams} and {@link decodeKVLines}. */
export interface BlockOptions {
  /**
   * Maximum number of lines in the block, duplicate keys and lines without
   * a space included (a `BLATHER` error beyond). Default 10,000; `Infinity`
   * disables the limit.
   */
  maxParams?: number;
}

async function decodeWhole<T>(
  bytes: Uint8Array,
  options: BlockOptions,
  read: (r: FrameReader) => Promise<T>,
): Promise<T> {
  const reader = new FrameReader(
    (async function* () {
      yield bytes;
    })(),
    {
      maxLineLength: Number.POSITIVE_INFINITY,
      maxTelegramBytes: Number.POSITIVE_INFINITY,
      maxParams: options.maxParams,
    },
  );
  const block = await read(reader);
  if (reader.buffered !== 0) {
    throw new DdmwError('BLATHER', 'Bytes follow the empty line that ends the block');
  }
  return block;
}

/** Decodes `bytes` as exactly one params block. */
export function decodeParams(bytes: Uint8Array, options: BlockOptions = {}): Promise<Params> {
  return decodeWhole(bytes, options, (r) => r.readParams());
}

/** Decodes `bytes` as exactly one kvlines block. */
export function decodeKVLines(bytes: Uint8Array, options: BlockOptions = {}): Promise<KVLines> {
  return decodeWhole(bytes, options, (r) => r.readKVLines());
}
