/**
 * Spooling: where message bytes wait at the receiver node until they are
 * delivered. Small messages stay in memory, and large ones while a bounded
 * memory budget allows (see link/link.ts); the others go to files in one
 * temporary folder per simulator (under `os.tmpdir()`, mode 0700, named
 * after the simulator's pid), removed when it closes. The folders of
 * simulators whose process was killed are removed at a later start, once
 * old: so a running simulator touches its folder now and then.
 */
import { mkdtemp, rm, unlink, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LEFTOVER_AGE_MS, removeLeftovers } from '../leftovers.ts';
import type { Logger } from './session.ts';

/** Spool folders are named `ddmw-sim-spool-<pid>-<6 random characters>`. */
const SPOOL_PREFIX = 'ddmw-sim-spool-';
const SPOOL_NAME = /^ddmw-sim-spool-([0-9]{1,10})-[A-Za-z0-9]{6}$/;

/** How often a running simulator touches its spool folder: six times per leftover age (every 10 minutes). */
export const SPOOL_TOUCH_MS = LEFTOVER_AGE_MS / 6;

/** Transfers of at most this many bytes are always kept in memory (64 KiB). */
export const MEMORY_LIMIT = 64 * 1024;

/**
 * Bytes in memory (the link's slabs, in order, never copied into one), or
 * in a spool file. `onFree` (memory only) is called when the bytes
 * are discarded: memory lent from a budget goes back, and the buffers go
 * back to the link for reuse when `reusable`.
 */
export type Spooled =
  | { kind: 'memory'; chunks: Buffer[]; size: number; onFree?: (reusable: boolean) => void }
  | { kind: 'file'; path: string; size: number };

/** Size of a spooled part in bytes. */
export function spooledSize(part: Spooled): number {
  return part.size;
}

/**
 * Lets go of a part: removes its spool file, or gives its memory back. Call
 * once. `reusable`: nothing refers to the part's buffers any more (every
 * write of them handed to the system), so they may be filled again. Never
 * throws.
 */
export async function discard(part: Spooled, reusable = false): Promise<void> {
  if (part.kind === 'file') await unlink(part.path).catch(() => {});
  else part.onFree?.(reusable);
}

/** The spool folder of one simulator. */
export class Spool {
  /** The folder; spool files are created in it. */
  readonly dir: string;
  /** Keeps the folder's modification time recent, so that no other simulator takes it for a leftover. */
  readonly #touch: NodeJS.Timeout;

  private constructor(dir: string) {
    this.dir = dir;
    this.#touch = setInterval(() => {
      const now = new Date();
      utimes(dir, now, now).catch(() => {});
    }, SPOOL_TOUCH_MS).unref();
  }

  /**
   * Creates a fresh folder under the system's temporary folder, after
   * removing the spool folders of simulators whose process is gone (see
   * leftovers.ts).
   */
  static async create(log: Logger | undefined): Promise<Spool> {
    const dir = tmpdir();
    for (const path of await removeLeftovers({ dir, pattern: SPOOL_NAME, type: 'folder' })) {
      log?.(`removed the spool folder of a simulator that is gone: ${path}`);
    }
    return new Spool(await mkdtemp(join(dir, `${SPOOL_PREFIX}${process.pid}-`)));
  }

  /** Removes the folder and everything in it. */
  async close(): Promise<void> {
    clearInterval(this.#touch);
    await rm(this.dir, { recursive: true, force: true });
  }
}
