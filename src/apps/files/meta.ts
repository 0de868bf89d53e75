/**
 * The metadata of a file transfer: a params block sent with the file as
 * payload. `Format ddmw-file/1` tells a file from other messages on the
 * channel; the rest describes the file:
 *
 * | key | value |
 * |---|---|
 * | `Format` | `ddmw-file/1` |
 * | `Path` | relative path, parts separated by `/` (see safe-path.ts) |
 * | `Size` | bytes, the payload's length |
 * | `Mode` | permission bits, octal (`644`) |
 * | `MTime` | modification time, milliseconds since 1970 (UTC) |
 * | `Sha256` | SHA-256 of the content, lowercase hex |
 */
import { blather, DdmwError } from '../../index.ts';
import { pathProblem } from './safe-path.ts';

/** The `Format` of file metadata. */
export const FILE_FORMAT = 'ddmw-file/1';
/** Metadata larger than this is not a file's (it is refused before it is read). */
export const MAX_FILE_META_BYTES = 16 * 1024;

/** What a file transfer says about its file. */
export interface FileMeta {
  /** Relative path, `/`-separated. */
  path: string;
  /** Bytes. */
  size: number;
  /** Permission bits (`0o644`). */
  mode: number;
  /** Modification time, milliseconds since 1970 (UTC). */
  mtimeMs: number;
  /** SHA-256 of the content, lowercase hex. */
  sha256: string;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
/** The largest time a `Date` holds. */
const MAX_TIME_MS = 8.64e15;
const OCTAL = /^[0-7]{1,4}$/;

/** Why `meta` cannot describe a file transfer, or `undefined`. */
export function fileMetaProblem(meta: FileMeta): string | undefined {
  const path = pathProblem(meta.path);
  if (path) return `Path ${JSON.stringify(meta.path)}: ${path}`;
  if (!Number.isSafeInteger(meta.size) || meta.size < 0) return 'Size is not a byte count';
  if (!Number.isInteger(meta.mode) || meta.mode < 0 || meta.mode > 0o7777)
    return 'Mode is not permission bits';
  if (!Number.isSafeInteger(meta.mtimeMs) || Math.abs(meta.mtimeMs) > MAX_TIME_MS)
    return 'MTime is not milliseconds since 1970 (within 275,000 years of it)';
  if (!SHA256_HEX.test(meta.sha256)) return 'Sha256 is not 64 lowercase hex digits';
  return undefined;
}

/** The metadata block of `meta`; `BAD_PARAMS` if it cannot describe a transfer. */
export function encodeFileMeta(meta: FileMeta): blather.Params {
  const problem = fileMetaProblem(meta);
  if (problem) throw new DdmwError('BAD_PARAMS', `Cannot send this file: ${problem}`);
  return new blather.Params({
    Format: FILE_FORMAT,
    Path: meta.path,
    Size: meta.size,
    Mode: (meta.mode & 0o7777).toString(8),
    MTime: Math.round(meta.mtimeMs),
    Sha256: meta.sha256,
  });
}

/** Whether a received metadata block is a file's (it names the format). */
export function isFileMeta(params: blather.Params): boolean {
  return params.get('Format') === FILE_FORMAT;
}

/** The file described by a received block; `BAD_INPUT` saying what is wrong. */
export function decodeFileMeta(params: blather.Params): FileMeta {
  const bad = (why: string) => new DdmwError('BAD_INPUT', `Not a valid file transfer: ${why}`);
  if (!isFileMeta(params)) throw bad(`Format is not ${FILE_FORMAT}`);
  const mode = params.get('Mode') ?? '';
  if (!OCTAL.test(mode)) throw bad('Mode is not octal permission bits');
  let meta: FileMeta;
  try {
    meta = {
      path: params.getStr('Path'),
      size: params.getInt('Size'),
      mode: Number.parseInt(mode, 8),
      mtimeMs: params.getInt('MTime', { min: -(2 ** 53) + 1, max: 2 ** 53 - 1 }),
      sha256: params.getStr('Sha256'),
    };
  } catch (err) {
    throw bad(err instanceof Error ? err.message : String(err));
  }
  const problem = fileMetaProblem(meta);
  if (problem) throw bad(problem);
  return meta;
}
