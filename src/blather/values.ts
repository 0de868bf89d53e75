/**
 * Typed value conventions (wire-protocol.md §3): every value is a string on
 * the wire; these helpers turn strings into integers, booleans and lists and
 * back, with the exact rules of the Rust side.
 */
import { DdmwError } from '../err.ts';
import { quote } from './validate.ts';

/** An inclusive integer range used to check parsed integers. */
export interface IntRange {
  /** Smallest allowed value. */
  min: number;
  /** Largest allowed value. */
  max: number;
}

/** An inclusive bigint range used to check parsed 64-bit integers. */
export interface BigIntRange {
  /** Smallest allowed value. */
  min: bigint;
  /** Largest allowed value. */
  max: bigint;
}

/** Range of Rust `u8` (these constants are the Rust integer types DDMW uses). */
export const U8: IntRange = { min: 0, max: 255 };
/** Range of Rust `u16`. */
export const U16: IntRange = { min: 0, max: 0xffff };
/** Range of Rust `u32`. */
export const U32: IntRange = { min: 0, max: 0xffff_ffff };
/** Range of Rust `i32`. */
export const I32: IntRange = { min: -0x8000_0000, max: 0x7fff_ffff };
/** Integers a JavaScript number holds exactly (`Number.MIN_SAFE_INTEGER` to `Number.MAX_SAFE_INTEGER`). */
export const SAFE_INT: IntRange = { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER };
/** Range of Rust `u64`, as bigints. */
export const U64: BigIntRange = { min: 0n, max: 0xffff_ffff_ffff_ffffn };
/** Range of Rust `i64`, as bigints. */
export const I64: BigIntRange = { min: -(2n ** 63n), max: 2n ** 63n - 1n };

const SIGNED_DIGITS = /^[+-]?[0-9]+$/;
const UNSIGNED_DIGITS = /^\+?[0-9]+$/;

function badNumber(key: string, min: bigint | number, max: bigint | number): DdmwError {
  return new DdmwError(
    'BLATHER',
    `Unable to parse numeric value from parameter ${quote(key)}: expected a decimal integer from ${min} to ${max}`,
  );
}

/**
 * Parses a decimal integer as Rust's `FromStr` does: an optional `+` (or `-`
 * when the range allows negatives), then one or more ASCII digits; leading
 * zeros are fine; no spaces, `_`, hex or exponent. Out of range is an error.
 */
export function parseBigIntValue(key: string, text: string, range: BigIntRange): bigint {
  const re = range.min < 0n ? SIGNED_DIGITS : UNSIGNED_DIGITS;
  if (!re.test(text)) throw badNumber(key, range.min, range.max);
  const n = BigInt(text);
  if (n < range.min || n > range.max) throw badNumber(key, range.min, range.max);
  return n;
}

/** Like {@link parseBigIntValue}, for ranges that fit a JavaScript number. */
export function parseIntValue(key: string, text: string, range: IntRange): number {
  const re = range.min < 0 ? SIGNED_DIGITS : UNSIGNED_DIGITS;
  if (!re.test(text)) throw badNumber(key, range.min, range.max);
  // Up to 15 digits a Number is exact; beyond that go through BigInt.
  const n = text.length <= 15 ? Number(text) : Number(BigInt(text));
  if (!Number.isSafeInteger(n) || n < range.min || n > range.max) {
    throw badNumber(key, range.min, range.max);
  }
  return n;
}

const TRUE_WORDS = new Set(['y', 'yes', 't', 'true', '1']);
const FALSE_WORDS = new Set(['n', 'no', 'f', 'false', '0']);

/** Parses a boolean with blather's `get_bool` rules (any case, not trimmed). */
export function parseBoolValue(key: string, text: string): boolean {
  const lower = text.toLowerCase();
  if (TRUE_WORDS.has(lower)) return true;
  if (FALSE_WORDS.has(lower)) return false;
  throw new DdmwError(
    'BLATHER',
    `Unrecognized boolean value in parameter ${quote(key)}: expected one of y, yes, t, true, 1, n, no, f, false, 0`,
  );
}

/** Formats a boolean the way blather's `add_bool` does. */
export function formatBool(value: boolean): string {
  return value ? 'True' : 'False';
}

/** Splits a comma list, dropping empty items, keeping order (blather `get_strvec`). */
export function parseListValue(text: string): string[] {
  return text.split(',').filter((item) => item.length > 0);
}

/**
 * Joins list items with `,`. An item that is empty or holds a comma could not
 * be read back intact, so it is refused rather than silently changed.
 */
export function formatList(key: string, items: Iterable<string>): string {
  const list = [...items];
  for (const item of list) {
    if (item.length === 0 || item.includes(',')) {
      throw new DdmwError(
        'BLATHER',
        `List parameter ${quote(key)} has an item that is empty or contains ',': such an item cannot be sent intact`,
      );
    }
  }
  return list.join(',');
}

/** Converts a setter argument to its wire string. */
export function formatScalar(key: string, value: string | number | bigint | boolean): string {
  switch (typeof value) {
    case 'string':
      return value;
    case 'boolean':
      return formatBool(value);
    case 'bigint':
      return value.toString();
    default:
      if (!Number.isFinite(value) || (Number.isInteger(value) && !Number.isSafeInteger(value))) {
        throw new DdmwError(
          'BAD_INPUT',
          `Parameter ${quote(key)} gets ${value}, which cannot be written exactly; use a bigint for integers beyond 2^53`,
        );
      }
      return String(value);
  }
}
