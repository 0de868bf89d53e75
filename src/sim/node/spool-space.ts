/**
 * Room in the spool for the messages being sent: before the sender node
 * answers a `Msg` with `Ok`, the message's announced size is claimed here.
 * A claim fits when the spool's file system (`fs.statfs`) has that much
 * free, plus what the uploads still in progress have claimed, plus a
 * reserve that is always left free; otherwise the `Msg` is refused before
 * a byte of it is spooled. Messages of at most {@link MEMORY_LIMIT} bytes
 * never go to a spool file, so they claim nothing (and cost no `statfs`).
 */
import { statfs } from 'node:fs/promises';
import { CommandFailed } from './session.ts';
import { MEMORY_LIMIT } from './spool.ts';

/** Gives a claim back; calling it again does nothing. */
export type Release = () => void;

const NOTHING_CLAIMED: Release = () => {};

/** The free space of one spool folder's file system, shared by the uploads in progress. */
export class SpoolSpace {
  readonly #dir: string;
  readonly #reserve: number;
  /** Bytes claimed by the uploads in progress. */
  #claimed = 0;

  /**
   * @param dir the spool folder
   * @param reserve bytes always left free on its file system
   */
  constructor(dir: string, reserve: number) {
    this.#dir = dir;
    this.#reserve = reserve;
  }

  /**
   * Claims room for a message of `size` bytes until the returned function
   * is called (once its upload is over, whatever the outcome). Throws
   * `CommandFailed` when it does not fit, or when the free space cannot be
   * read.
   */
  async claim(size: number): Promise<Release> {
    if (size <= MEMORY_LIMIT) return NOTHING_CLAIMED;
    let free: number;
    try {
      const fs = await statfs(this.#dir);
      free = fs.bavail * fs.bsize;
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      throw new CommandFailed(`The free space of the spool cannot be read: ${text}`);
    }
    const left = free - this.#claimed - this.#reserve;
    if (size > left) {
      throw new CommandFailed(
        `Not enough room in the spool: the message needs ${size} bytes, ${Math.max(0, left)} are available`,
      );
    }
    this.#claimed += size;
    let held = true;
    return () => {
      if (held) this.#claimed -= size;
      held = false;
    };
  }
}
