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

/**
 * Runs `work` with the `--ledger` file open (or `undefined` without the
 * flag), and closes it however `work` ends.
 */
export async function withLedgerOption<T>(
  path: string | undefined,
  work: (ledger: ledger.Ledger | undefined) => Promise<T>,
): Promise<T> {
  const book =
    path === undefined
      ? undefined
      : await ledger.Ledger.open(path).catch((err: unknown) => {
          throw asUsageError(err);
        });
  try {
    return await work(book);
  } finally {
    await book?.close();
  }
}
