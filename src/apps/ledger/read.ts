/**
 * Reading a ledger (see ledger.ts) entry by entry, with bounded memory
 * (see json-lines.ts); a line that is not a valid entry is `BAD_INPUT`
 * naming the file and line.
 */
import { DdmwError } from '../../index.ts';
import { readJsonLines } from '../json-lines.ts';
import { type LedgerEntry, ledgerEntryProblem } from './ledger.ts';

/** An entry and the line it was read from (from 1). */
export interface LedgerLine {
  /** The entry. */
  entry: LedgerEntry;
  /** Its line number, from 1. */
  line: number;
}

/** Yields the entries of the ledger at `path` in order; see the file's header. */
export async function* readLedger(
  path: string,
  onWarning: (warning: string) => void = () => {},
): AsyncGenerator<LedgerLine> {
  for await (const { value, line } of readJsonLines(path, onWarning)) {
    const problem = ledgerEntryProblem(value);
    if (problem)
      throw new DdmwError('BAD_INPUT', `${path}:${line}: not a ledger entry: ${problem}`);
    yield { entry: value as LedgerEntry, line };
  }
}
