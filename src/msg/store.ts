/**
 * Storing the parts of a received message where the application asked:
 * skipped, buffered, parsed as key/value lines, written to a file, or
 * handed out as a stream. Every store consumes exactly the announced bytes,
 * so the connection stays in step whatever happens to the content.
 */
import { randomBytes } from 'node:crypto';
import { rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { decodeKVLines, decodeParams } from '../blather/index.ts';
import type { Exchange } from '../conn/connection.ts';
import { DdmwError, toDdmwError } from '../err.ts';
import type { Storage, StoreType } from './types.ts';

/** Which part of a message is being stored (for messages). */
export type PartName = 'metadata' | 'payload';

/** A temporary name next to `path`, so that the final rename stays on one file system. */
function partialName(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.part`);
}

/** Parses exactly `bytes` as a params or kvlines block; a malformed block is `BAD_INPUT`. */
async function parseBlock(
  bytes: Buffer,
  kind: 'params' | 'kvlines',
  what: PartName,
): Promise<Storage> {
  try {
    return kind === 'params'
      ? { kind, params: await decodeParams(bytes) }
      : { kind, kvlines: await decodeKVLines(bytes) };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new DdmwError('BAD_INPUT', `The ${what} is not a valid ${kind} block: ${reason}`, {
      cause: err,
    });
  }
}

/**
 * Reads `n` bytes of one part into the store `store`. Returns `undefined`
 * for an empty or skipped part. Content errors (a malformed params block, a
 * file that cannot be written) are thrown after the bytes were consumed.
 */
export async function storePart(
  io: Exchange,
  store: StoreType,
  n: number,
  what: PartName,
): Promise<Storage | undefined> {
  if (n === 0) return undefined;
  const reader = io.reader;
  if (store === 'none') {
    await reader.skip(n);
    return undefined;
  }
  if (store === 'bytes') return { kind: 'bytes', bytes: await reader.readBytes(n) };
  if (store === 'params' || store === 'kvlines') {
    return parseBlock(await reader.readBytes(n), store, what);
  }
  if (store === 'stream') return { kind: 'stream', stream: reader.readStream(n) };
  const tmp = partialName(store.file);
  await reader.readToFile(tmp, n);
  try {
    await rename(tmp, store.file);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw toDdmwError(err, `Cannot move the received ${what} to ${store.file}`);
  }
  return { kind: 'file', path: store.file };
}

/** Removes a stored file part (when the rest of its message failed). */
export async function discardPart(part: Storage | undefined): Promise<void> {
  if (part?.kind === 'file') await unlink(part.path).catch(() => {});
  if (part?.kind === 'stream') part.stream.destroy();
}
