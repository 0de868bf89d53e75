/**
 * Where `ddmw recv` puts each message: `<name>.payload`, `<name>.meta`
 * (when there is metadata) and a small `<name>.json` sidecar, in the
 * output folder. Names come from transfer ids, made safe, and never
 * overwrite an earlier message's files.
 */
import { createHash, randomBytes } from 'node:crypto';
import { access, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeParams } from '../../blather/index.ts';
import { type DdmwError, toDdmwError } from '../../err.ts';
import type { Msg } from '../../msg/index.ts';

/** Longest name made from a transfer id (file systems allow 255 bytes with the suffix). */
const MAX_NAME = 100;
/** Metadata up to this size is shown in the sidecar when it is a params block. */
const SHOWN_META = 64 * 1024;

/** A file name from a transfer id: safe characters only, never hidden, `.` or `..`, never too long. */
export function safeName(xferId: string | undefined): string {
  const id = xferId ?? `msg-${Date.now()}`;
  let name = id.replace(/[^A-Za-z0-9._-]/g, '_');
  if (name === '' || name.startsWith('.')) name = `_${name}`;
  if (name.length > MAX_NAME) {
    const hash = createHash('sha256').update(id).digest('hex').slice(0, 16);
    name = `${name.slice(0, MAX_NAME - 17)}-${hash}`;
  }
  return name;
}

/** Wraps a file system error so that it names the path and says what failed. */
function fileError(err: unknown, what: string): DdmwError {
  return toDdmwError(err, what);
}

/** Fails with a clear error unless files can be created in `dir` (checked before subscribing). */
export async function checkWritable(dir: string): Promise<void> {
  const probe = join(dir, `.ddmw-write-check-${randomBytes(6).toString('hex')}`);
  try {
    const handle = await open(probe, 'wx');
    await handle.close();
    await rm(probe, { force: true });
  } catch (err) {
    throw fileError(err, `Cannot write received messages to ${dir}`);
  }
}

/** The files of one message, reserved by creating its sidecar name exclusively. */
export class MessageFiles {
  readonly base: string;
  readonly payload: string;
  readonly meta: string;
  readonly sidecar: string;
  readonly partial: string;
  /** Where the metadata is written, hidden, until the payload is in place too. */
  readonly partialMeta: string;
  /** A hidden file that holds the names while the message is received. */
  readonly #lock: string;

  private constructor(dir: string, name: string) {
    this.base = join(dir, name);
    this.payload = `${this.base}.payload`;
    this.meta = `${this.base}.meta`;
    this.sidecar = `${this.base}.json`;
    this.partial = join(dir, `.${name}.payload.part`);
    this.partialMeta = join(dir, `.${name}.meta.part`);
    this.#lock = join(dir, `.${name}.lock`);
  }

  /**
   * Reserves the names for a message: `<id>`, else `<id>-1`, `<id>-2`, ...,
   * the first that no earlier message uses (a hidden lock file is created
   * at once, so a duplicate transfer id never overwrites an earlier
   * message; the visible files appear only once complete).
   */
  static async reserve(dir: string, xferId: string | undefined): Promise<MessageFiles> {
    const name = safeName(xferId);
    for (let n = 0; ; n++) {
      const files = new MessageFiles(dir, n === 0 ? name : `${name}-${n}`);
      if (await files.#take()) return files;
    }
  }

  /** Takes the names if free: the lock is created exclusively, and no file of an earlier message exists. */
  async #take(): Promise<boolean> {
    try {
      await (await open(this.#lock, 'wx')).close();
    } catch (err) {
      if ((err as { code?: string }).code === 'EEXIST') return false;
      throw fileError(err, `Cannot create ${this.#lock}`);
    }
    const taken = await Promise.all(
      [this.sidecar, this.payload, this.meta].map((f) =>
        access(f).then(
          () => true,
          () => false,
        ),
      ),
    );
    if (!taken.includes(true)) return true;
    await rm(this.#lock, { force: true });
    return false;
  }

  /** Removes every file of a message that was not received whole. Never rejects. */
  async discard(): Promise<void> {
    const files = [
      this.partial,
      this.partialMeta,
      this.payload,
      this.meta,
      this.sidecar,
      this.#lock,
    ];
    await Promise.all(files.map((f) => rm(f, { force: true })));
  }

  /** Moves the received payload, and the metadata if there is any, to their names. */
  async commit(hasMeta: boolean): Promise<void> {
    await rename(this.partial, this.payload).catch((err: unknown) => {
      throw fileError(err, `Cannot move the payload to ${this.payload}`);
    });
    if (!hasMeta) return;
    await rename(this.partialMeta, this.meta).catch((err: unknown) => {
      throw fileError(err, `Cannot move the metadata to ${this.meta}`);
    });
  }

  /** Writes the sidecar last (under a hidden name first, so it is never seen half written) and frees the names; returns it. */
  async writeSidecar(m: Msg): Promise<Sidecar> {
    const sidecar: Sidecar = {
      xferId: m.xferId,
      ch: m.ch,
      cmd: m.cmd,
      metaLen: m.metaLen,
      payloadLen: m.payloadLen,
      ...(m.metaLen > 0 ? { metaFile: this.meta, meta: await this.#params(m.metaLen) } : {}),
      payload: this.payload,
    };
    const tmp = `${this.#lock}.json`;
    try {
      const handle = await open(tmp, 'wx');
      await handle.writeFile(`${JSON.stringify(sidecar, null, 2)}\n`);
      await handle.close();
      await rename(tmp, this.sidecar);
      await rm(this.#lock, { force: true });
    } catch (err) {
      await rm(tmp, { force: true });
      throw fileError(err, `Cannot write ${this.sidecar}`);
    }
    return sidecar;
  }

  /** The metadata as key/values when it is a small params block; else `undefined` (see metaFile). */
  async #params(metaLen: number): Promise<Record<string, string> | undefined> {
    if (metaLen > SHOWN_META) return undefined;
    const bytes = await readFile(this.meta);
    return decodeParams(bytes).then(
      (p) => p.toObject(),
      () => undefined,
    );
  }
}

/** What the sidecar says of a message. */
export interface Sidecar {
  xferId: string | undefined;
  ch: string | undefined;
  cmd: number;
  metaLen: number;
  payloadLen: number;
  /** The metadata file, when there is metadata. */
  metaFile?: string;
  /** The metadata's key/values, when it is a params block of at most 64 KiB. */
  meta?: Record<string, string>;
  payload: string;
}
