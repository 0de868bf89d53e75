/**
 * `--ledger FILE` of the transfer commands: the ledger opened before any
 * transfer, and a ledger that cannot be opened or read reported as the
 * user's to fix (exit 2), not as a connection error.
 */
import { ledger } from '../apps/index.ts';
import { DdmwError, isDdmwError } from '../err.ts';

/** A ledger's `IO` error as `BAD_INPUT` (same message); other errors as they are. */
export function asUsageError(err: unknown): unknown {
  return isDdmwError(err, 'IO') ? new DdmwError('BAD_INPUT', err.message, { cause: err }) : err;
}

/** Opens the `--ledger` file, if given. */
export async function openLedgerOption(path: string | undefined) {
  if (path === undefined) return undefined;
  return ledger.Ledger.open(path).catch((err: unknown) => {
    throw asUsageError(err);
  });
}
