/**
 * Relative paths carried in file metadata, checked before anything is
 * written: a path from the link is hostile until proven otherwise. A path
 * is refused when it could leave the receiving folder (`..`, absolute,
 * empty parts), when it holds control characters or a backslash, when a
 * part is a name Windows reserves (a receiving folder may be shared with
 * one) or one of the receiver's own working names, or when it is too long
 * or too deep. Symbolic links on the way are refused where the path is
 * resolved (see place.ts).
 */

/** Longest relative path, in UTF-8 bytes (Linux's PATH_MAX). */
export const MAX_PATH_BYTES = 4096;
/** Longest part of a path, in UTF-8 bytes (most file systems' limit). */
export const MAX_NAME_BYTES = 255;
/** Most folders in a path. */
export const MAX_DEPTH = 64;
/** Suffix of the receiver's partial files: never a name a sender may use. */
export const PARTIAL_SUFFIX = '.ddmw-part';

/**
 * Control characters (C0, DEL, C1), line and paragraph separators, the
 * marks that reorder text and the characters that take no room (a name
 * could display as another).
 */
const CONTROL =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]/;
/** Device names Windows reserves, with or without an extension. */
const WINDOWS_RESERVED = /^(con|prn|aux|nul|conin\$|conout\$|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;

/** Why the part `name` cannot be written, or `undefined`. */
function nameProblem(name: string): string | undefined {
  if (name === '') return 'an empty part (// or a leading or trailing /)';
  if (name === '.' || name === '..') return `a "${name}" part`;
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) return `a part longer than ${MAX_NAME_BYTES} bytes`;
  if (WINDOWS_RESERVED.test(name)) return `a name Windows reserves (${name})`;
  if (/[. ]$/.test(name)) return 'a part ending in a dot or a space';
  if (name.endsWith(PARTIAL_SUFFIX)) return `a name ending in ${PARTIAL_SUFFIX}`;
  return undefined;
}

/** Why `path` is not a safe relative path, or `undefined` when it is. */
export function pathProblem(path: string): string | undefined {
  if (path.startsWith('/')) return 'an absolute path';
  if (CONTROL.test(path)) return 'a control character or a text direction mark';
  if (path.includes('\\')) return 'a backslash';
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) return `longer than ${MAX_PATH_BYTES} bytes`;
  const parts = path.split('/');
  if (parts.length > MAX_DEPTH) return `deeper than ${MAX_DEPTH} folders`;
  for (const part of parts) {
    const problem = nameProblem(part);
    if (problem) return problem;
  }
  return undefined;
}

/** The parts of a safe relative path; throws `problem` text through `fail` otherwise. */
export function pathParts(path: string, fail: (problem: string) => Error): string[] {
  const problem = pathProblem(path);
  if (problem) throw fail(problem);
  return path.split('/');
}
