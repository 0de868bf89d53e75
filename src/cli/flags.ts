/** Parsing of flag values shared by several commands; a bad value is a usage error naming the flag. */
import { DdmwError } from '../err.ts';

/** `--cmd`: an application command number, an integer from 0 to 2^32-1 (default 0). */
export function parseCmdFlag(value: string | undefined): number {
  if (value === undefined) return 0;
  const n = /^[0-9]+$/.test(value) ? Number(value) : Number.NaN;
  if (!(Number.isSafeInteger(n) && n <= 0xffffffff)) {
    throw new DdmwError(
      'BAD_INPUT',
      `--cmd must be a whole number from 0 to 4294967295, got "${value}"`,
    );
  }
  return n;
}
