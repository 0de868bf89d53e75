/**
 * Finding the files of a folder tree to send: regular files only (a
 * symbolic link is never followed: it could lead anywhere), with their
 * relative paths (`/`-separated), sizes and modification times. Names the
 * user marks as in progress (glob patterns) are left out, and so are the
 * sender's journal and a receiver's partial files.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
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

/** Walks `dir`; `skip(rel)` leaves a file out. Files come in name order, folder by folder. */
export async function scanFolder(dir: string, skip: (path: string) => boolean) {
  const found: FoundFile[] = [];
  const walk = async (abs: string, rel: string) => {
    const entries = await readdir(abs, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      const full = join(abs, entry.name);
      if (entry.isDirectory()) await walk(full, path);
      else if (entry.isFile() && !entry.name.endsWith(PARTIAL_SUFFIX) && !skip(path)) {
        // Gone since it was listed: the next scan will not see it either.
        const st = await lstat(full).catch(() => undefined);
        if (st?.isFile()) found.push({ path, abs: full, size: st.size, mtimeMs: st.mtimeMs });
      }
    }
  };
  await walk(dir, '');
  return found;
}
