/**
 * Delivery accounting: a ledger line per transfer on each side of the
 * link, and the comparison of the two.
 *
 * @module
 */

export { MAX_JSON_LINE as MAX_LEDGER_LINE } from '../json-lines.ts';
export { Ledger, type LedgerEntry, ledgerEntryProblem, Sha256Tap, sha256Of } from './ledger.ts';
export { type LedgerLine, readLedger } from './read.ts';
export { isClean, type Reconciliation, reconcile } from './reconcile.ts';
