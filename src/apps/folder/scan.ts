/**
 * Finding the files of a folder tree to send: regular files only (a
 * symbolic link is never followed: it could lead anywhere), with their
 * relative paths (`/`-separated), sizes and modification times. Names the
 * user marks as in progress (glob patterns) are left out, and so are the
 * sender's journal and a receiver's partial files.
 */
import type { Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DdmwError } from '../../index.ts';
import { PARTIAL_SUFFIX } from '../files/safe-path.ts';

/** A file found by {@link scanFolder}. */
export interface FoundFile {
  /** Relative path, `/`-separated. */
  path: string;
  /** Absolute (or as `dir` was given) path. */
  abs: string;
  /** Bytes. */
  size: number;
  /** Modification time, milliseconds since 1970. */
  mtimeMs: number;
}

/**
 * A glob pattern as a test: `*` matches within a name, `?` one character,
 * `**` across folders. A pattern without `/` is matched against the name
 * alone, one with `/` against the whole relative path.
 */
export function globMatcher(pattern: string): (path: string) => boolean {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*' && pattern[i + 1] === '*') {
      source += '.*';
      i++;
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  const re = new RegExp(`^${source}$`, 's');
  if (pattern.includes('/')) return (path) => re.test(path);
  return (path) => re.test(path.slice(path.lastIndexOf('/') + 1));
}

/**
 * Walks `dir`; `skip(rel, abs, folder)` leaves a file or a whole folder out. Files
 * come in name order, folder by folder. A folder that goes away meanwhile
 * is passed over; one that cannot be read is `IO`.
 */
export async function scanFolder(
  dir: string,
  skip: (path: string, abs: string, folder: boolean) => boolean,
) {
  const found: FoundFile[] = [];
  const walk = async (abs: string, rel: string) => {
    let entries: Dirent[];
    try {
      entries = await readdir(abs, { withFileTypes: true });
    } catch (err) {
      if (rel !== '' && (err as { code?: string }).code === 'ENOENT') return;
      const reason = err instanceof Error ? err.message : String(err);
      throw new DdmwError('IO', `Cannot read the folder ${abs}: ${reason}`, { cause: err });
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      const full = join(abs, entry.name);
      if (skip(path, full, entry.isDirectory())) continue;
      if (entry.isDirectory()) await walk(full, path);
      else if (entry.isFile() && !entry.name.endsWith(PARTIAL_SUFFIX)) {
        // Gone since it was listed: the next scan will not see it either.
        const st = await lstat(full).catch(() => undefined);
        if (st?.isFile()) found.push({ path, abs: full, size: st.size, mtimeMs: st.mtimeMs });
      }
    }
  };
  await walk(dir, '');
  return found;
}
