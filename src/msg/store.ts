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
 * A part that was read: what the application gets, and, for a file, the
 * move to its name (`commit`, once the whole message is read) or its
 * removal (`discard`, when the message failed after this part).
 */
export interface StoredPart {
  storage: Storage | undefined;
  commit(): Promise<void>;
  discard(): Promise<void>;
}

const nothingToDo = async () => {};

/** A part that needs nothing on commit; a stream is destroyed (the rest skipped) on discard. */
function held(storage: Storage | undefined): StoredPart {
  const discard =
    storage?.kind === 'stream' ? async () => void storage.stream.destroy() : nothingToDo;
  return { storage, commit: nothingToDo, discard };
}

/** A part written to a temporary file next to `path`, moved to `path` on commit. */
function fileUnder(tmp: string, path: string, what: PartName): StoredPart {
  let committed = false;
  return {
    storage: { kind: 'file', path },
    async commit() {
      try {
        await rename(tmp, path);
        committed = true;
      } catch (err) {
        await unlink(tmp).catch(() => {});
        throw toDdmwError(err, `Cannot move the received ${what} to ${path}`);
      }
    },
    async discard() {
      await unlink(committed ? path : tmp).catch(() => {});
    },
  };
}

/**
 * Reads `n` bytes of one part into the store `store`. The storage is
 * `undefined` for an empty or skipped part. Content errors (a malformed
 * params block, a file that cannot be written) are thrown after the bytes
 * were consumed; a file part keeps its temporary name until `commit`.
 */
export async function storePart(
  io: Exchange,
  store: StoreType,
  n: number,
  what: PartName,
): Promise<StoredPart> {
  if (n === 0) return held(undefined);
  const reader = io.reader;
  if (store === 'none') {
    await reader.skip(n);
    return held(undefined);
  }
  if (store === 'bytes') return held({ kind: 'bytes', bytes: await reader.readBytes(n) });
  if (store === 'params' || store === 'kvlines') {
    return held(await parseBlock(await reader.readBytes(n), store, what));
  }
  if (store === 'stream') return held({ kind: 'stream', stream: reader.readStream(n) });
  const tmp = partialName(store.file);
  await reader.readToFile(tmp, n);
  return fileUnder(tmp, store.file, what);
}
