/**
 * What a simulator leaves behind when its process is killed (`kill -9`, a
 * crash): temporary state files and spool folders. Each has the pid of the
 * process that made it in its name, and one whose process is gone and
 * that has not been modified for {@link LEFTOVER_AGE_MS} is removed when
 * the next simulator starts. Only entries that are exactly what a
 * simulator makes are touched: the name, the kind (a regular file or a
 * real folder, never a symbolic link, which is not followed) and the owner
 * (this user). A process that exists, or whose existence cannot be told,
 * keeps its entries.
 *
 * The age matters where pids do not tell: a simulator in another pid
 * namespace (a container sharing the temporary folder) has a pid that
 * looks free here. A running simulator touches its spool folder well
 * within that age, and a temporary state file lives for one write.
 */
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** Where to look, and what a leftover looks like there. */
export interface LeftoverKind {
  /** The folder to look in (not recursively). */
  dir: string;
  /** Matches the name of a leftover; its first group is the pid of the process that made it. */
  pattern: RegExp;
  /** A leftover is a regular file, or a folder (removed with its content). */
  type: 'file' | 'folder';
}

/** A leftover is at least this old (one hour), by its modification time. */
export const LEFTOVER_AGE_MS = 60 * 60_000;

/** The largest pid any system hands out (Linux caps them at 2^22). */
const MAX_PID = 2 ** 31 - 1;

/** True unless the system says no process has this pid (signal 0 only checks). */
function processMayExist(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** The pid in a leftover's name, when it names a process that is gone. */
function deadOwner(name: string, pattern: RegExp): number | undefined {
  const pid = Number(pattern.exec(name)?.[1]);
  if (!(Number.isInteger(pid) && pid > 0 && pid <= MAX_PID)) return undefined;
  return pid === process.pid || processMayExist(pid) ? undefined : pid;
}

/**
 * Removes the leftovers of processes that are gone from `dir`, if old
 * enough; returns what it removed. Best effort: an entry that cannot be read or removed is
 * left, and it never throws.
 */
export async function removeLeftovers({ dir, pattern, type }: LeftoverKind): Promise<string[]> {
  const names = await readdir(dir).catch(() => []);
  const uid = process.getuid?.();
  const removed: string[] = [];
  for (const name of names) {
    if (deadOwner(name, pattern) === undefined) continue;
    const path = join(dir, name);
    const info = await lstat(path).catch(() => undefined);
    if (!info || !(type === 'file' ? info.isFile() : info.isDirectory())) continue;
    if (uid !== undefined && info.uid !== uid) continue;
    // Written negated so that a modification time in the future (or not a number) keeps the entry.
    if (!(Date.now() - info.mtimeMs >= LEFTOVER_AGE_MS)) continue;
    try {
      await rm(path, { recursive: type === 'folder', force: true });
      removed.push(path);
    } catch {
      // Left for another time: a leftover never keeps a simulator from starting.
    }
  }
  return removed;
}

/** Escapes `text` for use in a regular expression. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
