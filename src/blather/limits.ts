/**
 * What a `FrameReader` accepts from its peer: the longest line, the most
 * parameter lines per telegram and the most bytes per telegram. Without
 * them a peer could make the decoder hold as much as it sends (one endless
 * line, or millions of short ones). Here: the options, their defaults, their
 * validation and the errors that name them.
 */
import { DdmwError } from '../err.ts';

/** Default maximum line length: 64 KiB. */
export const DEFAULT_MAX_LINE_LENGTH = 64 * 1024;

/** Default maximum number of parameter lines in a telegram or block: 10,000. */
export const DEFAULT_MAX_PARAMS = 10_000;

/** Default maximum size of a telegram or block: 1 MiB. */
export const DEFAULT_MAX_TELEGRAM_BYTES = 1024 * 1024;

/** Options of a `FrameReader`: limits on what it decodes. */
export interface FrameReaderOptions {
  /**
   * Maximum length of a line in bytes, counting a CR but not the LF.
   * Default 64 KiB; `Infinity` disables the limit (as blather's `Codec::new`).
   */
  maxLineLength?: number;
  /**
   * Maximum number of parameter lines in a telegram, or in a params or
   * kvlines block: every line between the topic and the empty line counts,
   * duplicate keys and lines without a space included. Default 10,000;
   * `Infinity` disables the limit.
   */
  maxParams?: number;
  /**
   * Maximum size in bytes of a telegram (from its topic to its empty line,
   * line ends included), or of a params or kvlines block. Default 1 MiB;
   * `Infinity` disables the limit.
   */
  maxTelegramBytes?: number;
}

/** Validated limits (`Infinity` for none). */
export interface DecodeLimits {
  /** Longest line, CR included, LF not. */
  readonly maxLine: number;
  /** Most parameter lines per telegram or block. */
  readonly maxParams: number;
  /** Most bytes per telegram or block. */
  readonly maxBytes: number;
}

/** Checks the options and fills in the defaults; `BAD_INPUT` for a value that is not a limit. */
export function decodeLimits(options: FrameReaderOptions): DecodeLimits {
  return {
    maxLine: limit('maxLineLength', options.maxLineLength, DEFAULT_MAX_LINE_LENGTH),
    maxParams: limit('maxParams', options.maxParams, DEFAULT_MAX_PARAMS),
    maxBytes: limit('maxTelegramBytes', options.maxTelegramBytes, DEFAULT_MAX_TELEGRAM_BYTES),
  };
}

function limit(name: string, value: number | undefined, def: number): number {
  const v = value ?? def;
  if (!(v === Number.POSITIVE_INFINITY || (Number.isSafeInteger(v) && v > 0))) {
    throw new DdmwError('BAD_INPUT', `${name} must be a positive integer or Infinity, got ${v}`);
  }
  return v;
}

/** A line longer than `maxLine`. */
export function lineTooLong(maxLine: number): DdmwError {
  return new DdmwError(
    'BLATHER',
    `Exceeded maximum line length of ${maxLine} bytes; raise maxLineLength if the peer really sends longer lines`,
  );
}

/** A telegram or block with more than `maxParams` parameter lines. */
export function tooManyParams(maxParams: number): DdmwError {
  return new DdmwError(
    'BLATHER',
    `Exceeded maximum of ${maxParams} parameter lines in one telegram or block; raise maxParams if the peer really sends more`,
  );
}

/** A telegram or block longer than `maxBytes`. */
export function telegramTooLarge(maxBytes: number): DdmwError {
  return new DdmwError(
    'BLATHER',
    `Exceeded maximum size of ${maxBytes} bytes for one telegram or block; raise maxTelegramBytes if the peer really sends larger telegrams`,
  );
}
