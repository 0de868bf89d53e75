/**
 * Receiving file transfers on a subscribed connection into a folder, one
 * after the other (store.ts), until a count or an abort. A message that is
 * not a valid file transfer is refused and reported, one that cannot be
 * written is reported as failed; either way nothing of it is left and the
 * next one is received. Only a lost connection ends the loop with an error.
 */
import { realpath } from 'node:fs/promises';
import { type Connection, DdmwError, msg } from '../../index.ts';
import type { Ledger } from '../ledger/index.ts';
import { MAX_FILE_META_BYTES } from './meta.ts';
import { fileStoreq, type StoredFile, type StoreFileOptions, storeFile } from './store.ts';

/** What happened to one message. */
export type ReceiveEvent =
  | {
      /** Stored. */
      type: 'received';
      /** Its transfer id. */
      xferId: string | undefined;
      /** Where and what. */
      file: StoredFile;
    }
  | {
      /**
       * Not a valid, intact file transfer (no file metadata, a hostile path,
       * a content that does not match its hash, ...): nothing was written.
       */
      type: 'refused';
      /** Its transfer id. */
      xferId: string | undefined;
      /** Why. */
      error: DdmwError;
    }
  | {
      /** A valid transfer that could not be written (a full disk, no permission): nothing was left. */
      type: 'failed';
      /** Its transfer id. */
      xferId: string | undefined;
      /** Why. */
      error: DdmwError;
    };

/** The message's fault (refused) or the disk's (failed); any other error ends the loop. */
const OUTCOME: Partial<Record<string, 'refused' | 'failed'>> = {
  BAD_INPUT: 'refused',
  BAD_PARAMS: 'refused',
  IO: 'failed',
};

/** Options of {@link receiveFiles}. */
export interface ReceiveOptions extends StoreFileOptions {
  /** Stop after this many files were stored (default: no limit). */
  count?: number;
  /** Ends the loop (quietly) and closes the connection. */
  signal?: AbortSignal;
  /** A line is appended for each stored file (its name: the relative path). */
  ledger?: Ledger;
  /** Told about each message. */
  onEvent?: (event: ReceiveEvent) => void;
}

/** What {@link receiveFiles} did. */
export interface ReceiveSummary {
  /** Files stored. */
  received: number;
  /** Messages refused. */
  refused: number;
  /** Files that could not be written. */
  failed: number;
}

/**
 * Receives file transfers from `conn` (subscribed already) into the folder
 * `dir` (which must exist); see the file's header. Resolves after `count`
 * files or when `signal` aborts.
 */
export async function receiveFiles(
  conn: Connection,
  dir: string,
  options: ReceiveOptions = {},
): Promise<ReceiveSummary> {
  const root = await realpath(dir).catch((err: unknown) => {
    throw new DdmwError('BAD_PARAMS', `Cannot receive into ${dir}: ${(err as Error).message}`);
  });
  const summary: ReceiveSummary = { received: 0, refused: 0, failed: 0 };
  const report = (event: ReceiveEvent) => {
    if (event.type !== 'received') summary[event.type]++;
    options.onEvent?.(event);
  };
  const count = options.count ?? Number.POSITIVE_INFINITY;
  if (!(count > 0)) throw new DdmwError('BAD_PARAMS', `count must be positive, got ${count}`);
  const loop = {
    storeq: fileStoreq,
    maxBuffered: MAX_FILE_META_BYTES,
    signal: options.signal,
    onSkipped: (error: msg.MsgError) => report({ type: 'refused', xferId: error.xferId, error }),
  };
  for await (const m of msg.messages(conn, loop)) {
    let file: StoredFile;
    try {
      file = await storeFile(m, root, options);
    } catch (err) {
      const type = err instanceof DdmwError ? OUTCOME[err.code] : undefined;
      if (!type) throw err; // the connection's end, not the message's
      report({ type, xferId: m.xferId, error: err as DdmwError });
      continue;
    }
    summary.received++;
    if (options.ledger && m.xferId !== undefined) {
      const { size, sha256, path } = file.meta;
      await options.ledger.append({ xferId: m.xferId, ch: m.ch ?? '', size, sha256, name: path });
    }
    options.onEvent?.({ type: 'received', xferId: m.xferId, file });
    if (summary.received >= count) break;
  }
  return summary;
}
