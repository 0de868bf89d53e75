/**
 * Sending a folder tree, one file transfer per file (files/send.ts), with a
 * journal (journal.ts) so that running it again sends only what is new or
 * changed. Once, or watching: scanning again every `pollMs` and sending a
 * file once it has stopped changing (same size and time for `settleMs`).
 * After a file was sent it can be kept, deleted, or moved under another
 * folder. A file that cannot be sent (unreadable, changed while sent, a
 * name no receiver would take) is reported and tried again at the next
 * scan; a lost connection ends the call with its error (call it again with
 * a new connection: the journal knows what was sent).
 */
import { randomBytes } from 'node:crypto';
import { constants, copyFile, mkdir, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Connection, DdmwError, type msg, type types } from '../../index.ts';
import { type SentFile, send as sendFile } from '../files/index.ts';
import { moveIntoPlace } from '../files/place.ts';
import { PARTIAL_SUFFIX } from '../files/safe-path.ts';
import type { Ledger } from '../ledger/index.ts';
import { isRewriteOf, JOURNAL_NAME, Journal } from './journal.ts';
import { type FoundFile, globMatcher, scanFolder } from './scan.ts';

/** What is done with a file once sent. */
export type After =
  | 'keep'
  | 'delete'
  | {
      /** A folder: the file goes to its relative path under it (a taken name gets a number). */
      move: string;
    };

/** Names left out by default: files still being written under a temporary name. */
export const DEFAULT_IGNORE = ['*.part', '*.tmp'];

/** Options of {@link sendFolder}. */
export interface FolderSendOptions extends Pick<msg.SendOptions, 'timeoutMs'> {
  /** Channel. */
  ch: types.AppChannel;
  /** Keep scanning and sending until `signal` aborts (default: one pass). */
  watch?: boolean;
  /** Time between scans when watching, in milliseconds (default 1000). */
  pollMs?: number;
  /** When watching, a file is sent once its size and time held this long (default `pollMs`). */
  settleMs?: number;
  /** Glob patterns of names left out (default {@link DEFAULT_IGNORE}). */
  ignore?: string[];
  /** What to do with a file once sent (default `'keep'`). */
  after?: After;
  /** The journal (default `.ddmw-send-journal` in the folder). */
  journal?: string;
  /** A line is appended for each file sent. */
  ledger?: Ledger;
  /** Stops (between files, or while a file is sent: that send is aborted). */
  signal?: AbortSignal;
  /** Told about each file. */
  onEvent?: (event: FolderSendEvent) => void;
  /** Told how many bytes of the file being sent went so far (see `file.send`). */
  onProgress?: (path: string, sent: number, size: number) => void;
}

/** What happened to one file (paths relative to the folder). */
export type FolderSendEvent =
  | {
      /** Taken by the node. */
      type: 'sent';
      /** Relative path. */
      path: string;
      /** Transfer id. */
      xferId: string;
      /** Bytes. */
      size: number;
    }
  | {
      /** Not sent this time (tried again at the next scan or run). */
      type: 'failed';
      /** Relative path. */
      path: string;
      /** Why. */
      error: DdmwError;
    }
  | {
      /** Moved or deleted after sending. */
      type: 'moved' | 'deleted';
      /** Relative path. */
      path: string;
      /** Where it went, when moved. */
      to?: string;
    };

/** What {@link sendFolder} did. */
export interface FolderSendSummary {
  /** Files sent. */
  sent: number;
  /** Files not sent (reported as `failed`). */
  failed: number;
  /** Files the journal knew as sent already, at the first scan. */
  unchanged: number;
}

/** Errors of a file, not of the connection: reported, and the folder goes on. */
const FILE_ERRORS = new Set(['BAD_INPUT', 'BAD_PARAMS']);

/** Whether sent files are moved or deleted (not kept). */
const movesOrDeletes = (options: FolderSendOptions) =>
  options.after !== undefined && options.after !== 'keep';

/**
 * What a scan leaves out: the `ignore` names (files only), and the sender's
 * own files wherever they are put (its journal, ledger and move folder):
 * sent, they would change again, and be sent again.
 */
function skipping(journal: Journal, options: FolderSendOptions) {
  const ignored = (options.ignore ?? DEFAULT_IGNORE).map(globMatcher);
  const own = [journal.path, options.ledger?.path].flatMap((p) => (p ? [resolve(p)] : []));
  const after = options.after;
  const moveTo = typeof after === 'object' ? resolve(after.move) : undefined;
  return (path: string, abs: string, isFolder: boolean) => {
    const full = resolve(abs);
    if (own.some((p) => full === p || isRewriteOf(full, p))) return true;
    if (moveTo !== undefined && (full === moveTo || full.startsWith(`${moveTo}${sep}`)))
      return true;
    return !isFolder && ignored.some((matches) => matches(path));
  };
}

/** Sends the files of `dir` on `conn` (a sender node's message interface); see the file's header. */
export async function sendFolder(
  conn: Connection,
  dir: string,
  options: FolderSendOptions,
): Promise<FolderSendSummary> {
  const pollMs = options.pollMs ?? 1000;
  const settleMs = options.settleMs ?? pollMs;
  if (!(pollMs > 0) || !(settleMs >= 0))
    throw new DdmwError('BAD_PARAMS', 'pollMs must be positive and settleMs not negative');
  const journal = await Journal.open(options.journal ?? join(dir, JOURNAL_NAME));
  const skip = skipping(journal, options);
  const summary: FolderSendSummary = { sent: 0, failed: 0, unchanged: 0 };
  /** When watching: each candidate's size and time, and since when they held. */
  const seen = new Map<string, { size: number; mtimeMs: number; since: number }>();
  const settled = (f: FoundFile) => {
    if (!options.watch) return true;
    const was = seen.get(f.path);
    if (!was || was.size !== f.size || was.mtimeMs !== f.mtimeMs) {
      seen.set(f.path, { size: f.size, mtimeMs: f.mtimeMs, since: Date.now() });
      return settleMs === 0;
    }
    return Date.now() - was.since >= settleMs;
  };
  try {
    for (let scan = 1; ; scan++) {
      const found = await scanFolder(dir, skip);
      for (const f of found) {
        options.signal?.throwIfAborted();
        if (journal.isSent(f)) {
          if (movesOrDeletes(options)) await finish(f, journal, options);
          else if (scan === 1) summary.unchanged++;
          continue;
        }
        if (!settled(f)) continue;
        seen.delete(f.path);
        await sendOne(conn, f, journal, options, summary);
      }
      // Files gone before they settled are forgotten.
      const present = new Set(found.map((f) => f.path));
      for (const path of seen.keys()) if (!present.has(path)) seen.delete(path);
      if (!options.watch) return summary;
      await sleep(pollMs, undefined, { signal: options.signal });
    }
  } catch (err) {
    if (!options.signal?.aborted) throw err;
    if (options.watch) return summary; // watching ends with the abort
    throw new DdmwError('ABORTED', `Sending ${dir} was aborted`, { cause: err });
  } finally {
    await journal.close();
  }
}

/** Sends one file and records it; a file's own failure is reported, not thrown. */
async function sendOne(
  conn: Connection,
  f: FoundFile,
  journal: Journal,
  options: FolderSendOptions,
  summary: FolderSendSummary,
): Promise<void> {
  let sent: SentFile;
  try {
    const progress = options.onProgress;
    const onProgress = progress && ((done: number, size: number) => progress(f.path, done, size));
    sent = await sendFile(conn, f.abs, { ...options, name: f.path, onProgress });
  } catch (err) {
    if (!(err instanceof DdmwError) || !FILE_ERRORS.has(err.code)) throw err;
    summary.failed++;
    options.onEvent?.({ type: 'failed', path: f.path, error: err });
    // A send cut off midway (the file changed) closes the connection: the next file needs another.
    if (conn.isClosed) {
      const why = `the connection was closed when ${f.path} could not be sent: ${err.message}`;
      throw new DdmwError('DISCONNECTED', why, { cause: err });
    }
    return;
  }
  // What was sent: the file may have changed since the scan (not while it was sent).
  const file = { path: f.path, size: sent.meta.size, mtimeMs: sent.meta.mtimeMs };
  await journal.sent(file, sent.xferId);
  summary.sent++;
  options.onEvent?.({ type: 'sent', path: f.path, xferId: sent.xferId, size: file.size });
  if (movesOrDeletes(options)) await finish({ ...f, ...file }, journal, options);
}

/** Moves or deletes a sent file, then forgets it. */
async function finish(f: FoundFile, journal: Journal, options: FolderSendOptions): Promise<void> {
  const after = options.after as 'delete' | { move: string };
  if (after === 'delete') {
    await unlink(f.abs).catch(ignoreMissing);
    await journal.done(f);
    options.onEvent?.({ type: 'deleted', path: f.path });
    return;
  }
  const folder = join(after.move, dirname(f.path));
  await mkdir(folder, { recursive: true });
  const to = await moveAcross(f.abs, folder, basename(f.path));
  await journal.done(f);
  options.onEvent?.({ type: 'moved', path: f.path, to });
}

/**
 * Moves `from` to `name` in `folder` without replacing anything there (a
 * taken name gets a number); to another file system by a copy first.
 */
async function moveAcross(from: string, folder: string, name: string): Promise<string> {
  try {
    return await moveIntoPlace(from, folder, name, false);
  } catch (err) {
    if ((err as { code?: string }).code !== 'EXDEV') throw err;
  }
  const copy = join(folder, `.${randomBytes(6).toString('hex')}${PARTIAL_SUFFIX}`);
  await copyFile(from, copy, constants.COPYFILE_EXCL);
  const to = await moveIntoPlace(copy, folder, name, false).catch(async (err: unknown) => {
    await unlink(copy).catch(() => {});
    throw err;
  });
  await unlink(from);
  return to;
}

function ignoreMissing(err: unknown): void {
  if ((err as { code?: string }).code !== 'ENOENT') throw err;
}
