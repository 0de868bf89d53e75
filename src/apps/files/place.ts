/**
 * Where a received file goes under the receiving folder: its folders are
 * created one part at a time, and a part that exists as anything but a
 * real folder (a symbolic link above all, which could lead outside) is
 * refused. The file itself is moved into place last, without ever
 * replacing what is there unless asked: a name taken is kept, and the new
 * file gets a numbered name (`report (1).pdf`).
 */
import { link, lstat, mkdir, open, rename, rmdir, unlink } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { DdmwError } from '../../index.ts';

/** Numbered names tried before giving up. */
const MAX_NUMBERED = 1000;

const codeOf = (err: unknown) => (err as { code?: string }).code;

/**
 * Creates the folders `parts` under `root` (which exists), recording each
 * one it created in `created`; returns the innermost. `BAD_INPUT` when a
 * part exists but is not a folder.
 */
export async function makeFolders(root: string, parts: string[], created: string[]) {
  let at = root;
  for (const part of parts) {
    at = join(at, part);
    try {
      await mkdir(at, { mode: 0o755 });
      created.push(at);
      continue;
    } catch (err) {
      if (codeOf(err) !== 'EEXIST') throw err;
    }
    const st = await lstat(at);
    if (!st.isDirectory()) {
      const what = st.isSymbolicLink() ? 'a symbolic link' : 'not a folder';
      throw new DdmwError('BAD_INPUT', `${at} is ${what}: nothing is written through it`);
    }
  }
  return at;
}

/** Where hard links cannot be made (FAT, some network shares, links to others' files). */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK']);

/**
 * Moves `partial` to `target` unless `target` exists; returns whether it
 * did. A hard link fails when the name exists, so not even a race replaces
 * a file. Where links cannot be made, the name is taken by creating an
 * empty file exclusively, then replaced by the complete one.
 */
async function claim(partial: string, target: string): Promise<boolean> {
  try {
    await link(partial, target);
    await unlink(partial);
    return true;
  } catch (err) {
    if (codeOf(err) === 'EEXIST') return false;
    if (!NO_LINKS.has(codeOf(err) ?? '')) throw err;
  }
  try {
    await (await open(target, 'wx')).close();
  } catch (err) {
    if (codeOf(err) === 'EEXIST') return false;
    throw err;
  }
  await rename(partial, target).catch(async (err: unknown) => {
    await unlink(target).catch(() => {}); // the empty file that held the name
    throw err;
  });
  return true;
}

/** Removes the folders `created` made, innermost first, those still empty only. Never rejects. */
export async function removeFolders(created: string[]): Promise<void> {
  for (const folder of [...created].reverse()) await rmdir(folder).catch(() => {});
}

/** `name` numbered: `a.txt` -> `a (1).txt`; `archive` -> `archive (2)`. */
export function numbered(name: string, n: number): string {
  const ext = extname(name); // '' for `archive` and for `.bashrc`
  return ext === '' ? `${name} (${n})` : `${name.slice(0, -ext.length)} (${n})${ext}`;
}

/**
 * Moves the complete file `partial` to `name` in `folder`; returns the path
 * it got. With `overwrite`, a file there is replaced (a folder there is
 * not: the file gets a numbered name). Without, a taken name is never
 * replaced, even by a race: the file is linked to its name, which fails
 * when the name exists.
 */
export async function moveIntoPlace(
  partial: string,
  folder: string,
  name: string,
  overwrite: boolean,
): Promise<string> {
  for (let n = 0; n <= MAX_NUMBERED; n++) {
    const target = join(folder, n === 0 ? name : numbered(name, n));
    if (overwrite) {
      const st = await lstat(target).catch(() => undefined);
      if (st?.isDirectory()) continue;
      await rename(partial, target);
      return target;
    }
    if (await claim(partial, target)) return target;
  }
  throw new DdmwError('IO', `${join(folder, name)} and ${MAX_NUMBERED} numbered names are taken`);
}
