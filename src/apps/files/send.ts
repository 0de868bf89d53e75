/**
 * Sending one file as a file transfer: metadata (meta.ts) then content.
 * The SHA-256 goes in the metadata, which travels first, so the file is
 * read twice: once to hash it, once to send it. A file that changes in
 * between (its size or modification time) fails the send with
 * `BAD_INPUT` before its last bytes go, so the node discards it.
 */
import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { basename } from 'node:path';
import { type Connection, DdmwError, msg, type types } from '../../index.ts';
import type { Ledger } from '../ledger/index.ts';
import { encodeFileMeta, type FileMeta } from './meta.ts';

/** Bytes read at a time (hashing and sending). */
const READ_BYTES = 1024 * 1024;

/** Options of {@link sendFile}. */
export interface SendFileOptions extends msg.SendOptions {
  /** Channel. */
  ch: types.AppChannel;
  /** Relative path the receiver stores it at (default: the file's name). */
  name?: string;
  /** A line is appended once the node took the file (its name: the relative path). */
  ledger?: Ledger;
  /** Told how many bytes of the file went so far, of how many (after each MiB, and at the end). */
  onProgress?: (sent: number, size: number) => void;
}

/** A sent file. */
export interface SentFile {
  /** Transfer id. */
  xferId: string;
  /** What its metadata said. */
  meta: FileMeta;
}

/** SHA-256 of the first `size` bytes of `fh`. */
async function hashOf(fh: FileHandle, size: number, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(Math.min(READ_BYTES, Math.max(size, 1)));
  for (let at = 0; at < size; ) {
    signal?.throwIfAborted();
    const { bytesRead } = await fh.read(buffer, 0, Math.min(buffer.length, size - at), at);
    if (bytesRead === 0) break; // shorter than it was: found out after sending
    hash.update(buffer.subarray(0, bytesRead));
    at += bytesRead;
  }
  return hash.digest('hex');
}

/**
 * The first `size` bytes of `fh`, read as they are sent, each chunk a
 * buffer of its own (the send may still hold it when the next is read).
 * Before the last chunk goes, the file must still have the size and time
 * it had when it was hashed: else the send fails (`BAD_INPUT`), cut off
 * before its end, and the node discards it.
 */
async function* contentOf(
  fh: FileHandle,
  path: string,
  before: Stats,
  onProgress: SendFileOptions['onProgress'],
) {
  const size = before.size;
  for (let at = 0; at < size; ) {
    const chunk = Buffer.allocUnsafe(Math.min(READ_BYTES, size - at));
    const { bytesRead } = await fh.read(chunk, 0, chunk.length, at);
    if (bytesRead === 0 || (at + bytesRead === size && changed(before, await fh.stat())))
      throw new DdmwError('BAD_INPUT', `${path} changed while it was sent; send it again`);
    yield chunk.subarray(0, bytesRead);
    at += bytesRead;
    onProgress?.(at, size); // the send asked for more: this chunk went
  }
}

const changed = (a: Stats, b: Stats) => a.size !== b.size || a.mtimeMs !== b.mtimeMs;

async function openRegular(path: string): Promise<FileHandle> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(path, 'r');
    if (!(await fh.stat()).isFile()) throw new Error('not a regular file');
    return fh;
  } catch (err) {
    await fh?.close();
    const reason = err instanceof Error ? err.message : String(err);
    throw new DdmwError('BAD_INPUT', `Cannot send ${path}: ${reason}`, { cause: err });
  }
}

/** Sends the file at `path` on `conn` (a sender node's message interface); see the file's header. */
export async function sendFile(
  conn: Connection,
  path: string,
  options: SendFileOptions,
): Promise<SentFile> {
  const fh = await openRegular(path);
  try {
    const before = await fh.stat();
    const meta: FileMeta = {
      path: options.name ?? basename(path),
      size: before.size,
      mode: before.mode & 0o777,
      mtimeMs: Math.round(before.mtimeMs),
      sha256: await hashOf(fh, before.size, options.signal),
    };
    const stream = contentOf(fh, path, before, options.onProgress);
    const content = { stream, length: meta.size };
    const spec = {
      ch: options.ch,
      meta: encodeFileMeta(meta),
      payload: meta.size ? content : undefined,
    };
    const xferId = await msg.send(conn, spec, options);
    await options.ledger?.append({
      xferId,
      ch: String(options.ch),
      size: meta.size,
      sha256: meta.sha256,
      name: meta.path,
    });
    return { xferId, meta };
  } finally {
    await fh.close();
  }
}
