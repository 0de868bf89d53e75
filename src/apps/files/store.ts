/**
 * Storing one received file transfer under a receiving folder: its
 * metadata checked, its content written to a partial file next to its
 * place while hashed, its size and SHA-256 checked against the metadata,
 * its mode and time set, then moved into place (place.ts). Whatever fails,
 * nothing is left but what was there, and the payload is consumed or
 * dropped so that the next message can be received.
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { DdmwError, type msg } from '../../index.ts';
import { decodeFileMeta, type FileMeta } from './meta.ts';
import { makeFolders, moveIntoPlace, removeFolders } from './place.ts';
import { PARTIAL_SUFFIX, pathParts } from './safe-path.ts';

/** Where a file transfer's parts go: the metadata parsed, the content as a stream. */
export const fileStoreq: msg.StoreQ = () => ({ meta: 'params', payload: 'stream' });

/** A stored file. */
export interface StoredFile {
  /** Where it was written. */
  path: string;
  /** What its metadata said. */
  meta: FileMeta;
  /** It got a numbered name: its own was taken. */
  renamed: boolean;
}

/** Options of {@link storeFile}. */
export interface StoreFileOptions {
  /** Replace a file of the same name (default: keep it, and number the new one). */
  overwrite?: boolean;
}

/** Drops what is left of the payload, if it is a stream. */
function dropPayload(m: msg.Msg): void {
  if (m.payload?.kind === 'stream') m.payload.stream.destroy();
}

/** The file a message describes; `BAD_INPUT` when it is not a valid file transfer. */
function metaOf(m: msg.Msg): FileMeta {
  if (m.meta?.kind !== 'params')
    throw new DdmwError('BAD_INPUT', 'Not a file transfer: no params metadata');
  const meta = decodeFileMeta(m.meta.params);
  if (meta.size !== m.payloadLen) {
    throw new DdmwError(
      'BAD_INPUT',
      `Not a valid file transfer: Size ${meta.size} but a payload of ${m.payloadLen} bytes`,
    );
  }
  return meta;
}

/**
 * Stores the file of `m` (received with {@link fileStoreq}) under `root`.
 * `BAD_INPUT` for a message that is not a valid, intact file transfer
 * (nothing written), `IO` when the file cannot be written (nothing left).
 */
export async function storeFile(
  m: msg.Msg,
  root: string,
  options: StoreFileOptions = {},
): Promise<StoredFile> {
  let meta: FileMeta;
  let folder: string;
  const parts: string[] = [];
  /** Folders made for this file: removed again if it is not stored. */
  const created: string[] = [];
  try {
    meta = metaOf(m);
    parts.push(
      ...pathParts(meta.path, (p) => new DdmwError('BAD_INPUT', `Path ${meta.path}: ${p}`)),
    );
    folder = await makeFolders(root, parts.slice(0, -1), created);
  } catch (err) {
    dropPayload(m);
    await removeFolders(created);
    throw err instanceof DdmwError ? err : ioError(err, `Cannot create the folders of ${m.xferId}`);
  }
  const name = parts[parts.length - 1] as string;
  const partial = join(folder, `.${randomBytes(6).toString('hex')}${PARTIAL_SUFFIX}`);
  try {
    const sha256 = await writePartial(m, partial, meta.mode);
    if (sha256 !== meta.sha256) {
      throw new DdmwError('BAD_INPUT', `${meta.path}: the content does not match its Sha256`);
    }
    await utimes(partial, new Date(), new Date(meta.mtimeMs));
    const path = await moveIntoPlace(partial, folder, name, options.overwrite === true);
    return { path, meta, renamed: path !== join(folder, name) };
  } catch (err) {
    dropPayload(m);
    await unlink(partial).catch(() => {});
    await removeFolders(created);
    throw err instanceof DdmwError ? err : ioError(err, `Cannot store ${meta.path}`);
  }
}

/**
 * Permission bits a received file may get: the sender's, but never
 * writable by group or others (another user could change it after its
 * hash was checked), never set-id or sticky.
 */
const SAFE_MODE = 0o755;

/**
 * Writes the payload to `partial` (created, never opened if it exists),
 * with the permission bits `mode` as far as {@link SAFE_MODE} allows;
 * returns its SHA-256.
 */
async function writePartial(m: msg.Msg, partial: string, mode: number): Promise<string> {
  const fh = await open(partial, 'wx', 0o600);
  try {
    const hash = createHash('sha256');
    if (m.payload?.kind === 'stream') {
      for await (const chunk of m.payload.stream as AsyncIterable<Buffer>) {
        hash.update(chunk);
        for (let at = 0; at < chunk.length; ) {
          at += (await fh.write(chunk, at)).bytesWritten;
        }
      }
    }
    await fh.chmod(mode & SAFE_MODE);
    return hash.digest('hex');
  } finally {
    await fh.close();
  }
}

function ioError(err: unknown, what: string): DdmwError {
  const reason = err instanceof Error ? err.message : String(err);
  return new DdmwError('IO', `${what}: ${reason}`, { cause: err });
}
