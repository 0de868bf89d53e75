/**
 * Where `ddmw recv` puts each message: `<name>.payload`, `<name>.meta`
 * (when there is metadata) and a small `<name>.json` sidecar, in the
 * output folder. Names come from transfer ids, made safe, and never
 * overwrite an earlier message's files.
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
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

  private constructor(dir: string, name: string) {
    this.base = join(dir, name);
    this.payload = `${this.base}.payload`;
    this.meta = `${this.base}.meta`;
    this.sidecar = `${this.base}.json`;
    this.partial = `${this.payload}.part`;
  }

  /**
   * Reserves the names for a message: `<id>`, else `<id>-1`, `<id>-2`, ...,
   * whichever has no sidecar yet (an empty one is created at once, so a
   * duplicate transfer id never overwrites an earlier message).
   */
  static async reserve(dir: string, xferId: string | undefined): Promise<MessageFiles> {
    const name = safeName(xferId);
    for (let n = 0; ; n++) {
      const files = new MessageFiles(dir, n === 0 ? name : `${name}-${n}`);
      try {
        await (await open(files.sidecar, 'wx')).close();
        return files;
      } catch (err) {
        if ((err as { code?: string }).code !== 'EEXIST') {
          throw fileError(err, `Cannot create ${files.sidecar}`);
        }
      }
    }
  }

  /** Removes every file of a message that was not received whole. Never rejects. */
  async discard(): Promise<void> {
    await Promise.all(
      [this.partial, this.payload, this.meta, this.sidecar].map((f) => rm(f, { force: true })),
    );
  }

  /** Moves the received payload to its name. */
  async commitPayload(): Promise<void> {
    await rename(this.partial, this.payload).catch((err: unknown) => {
      throw fileError(err, `Cannot move the payload to ${this.payload}`);
    });
  }

  /** Writes the sidecar (under a temporary name first, so it is never seen half written); returns it. */
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
    const tmp = `${this.sidecar}.part`;
    try {
      const handle = await open(tmp, 'wx');
      await handle.writeFile(`${JSON.stringify(sidecar, null, 2)}\n`);
      await handle.close();
      await rename(tmp, this.sidecar);
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
