/**
 * Comparing a sender's ledger with a receiver's (see ledger.ts): what was
 * sent and never received, received but never sent, received with another
 * size or hash than was sent, and received more than once. Transfers are
 * matched by transfer id. The sender's entries are held in memory (a few
 * hundred bytes each); the receiver's are read as a stream.
 */
import type { LedgerEntry } from './ledger.ts';
import { readLedger } from './read.ts';

/** The outcome of {@link reconcile}. */
export interface Reconciliation {
  /** Entries in the sender's ledger. */
  sent: number;
  /** Entries in the receiver's ledger. */
  received: number;
  /** Transfers received once, with the size and hash they were sent with. */
  matched: number;
  /** Sent and never received, in the sender's order. */
  missing: LedgerEntry[];
  /** Received but not in the sender's ledger. */
  unexpected: LedgerEntry[];
  /** Received with another size or hash than was sent. */
  mismatched: {
    /** As the sender's ledger has it. */
    sent: LedgerEntry;
    /** As the receiver's ledger has it. */
    received: LedgerEntry;
  }[];
  /** Received again after a first time (the later entries). */
  duplicates: LedgerEntry[];
  /** Lines skipped (a torn last line) and ids the sender's ledger holds twice. */
  warnings: string[];
}

/** Whether the two ledgers agree: nothing missing, unexpected, mismatched or duplicated. */
export function isClean(r: Reconciliation): boolean {
  return r.missing.length + r.unexpected.length + r.mismatched.length + r.duplicates.length === 0;
}

/** Compares the ledger of a sender with that of a receiver; see the file's header. */
export async function reconcile(
  senderLedger: string,
  receiverLedger: string,
): Promise<Reconciliation> {
  const warnings: string[] = [];
  const warn = (w: string) => warnings.push(w);
  const sent = new Map<string, LedgerEntry>();
  let sentCount = 0;
  for await (const { entry, line } of readLedger(senderLedger, warn)) {
    sentCount++;
    if (sent.has(entry.xferId)) warn(`${senderLedger}:${line}: ${entry.xferId} again`);
    else sent.set(entry.xferId, entry);
  }
  const result: Reconciliation = {
    sent: sentCount,
    received: 0,
    matched: 0,
    missing: [],
    unexpected: [],
    mismatched: [],
    duplicates: [],
    warnings,
  };
  const seen = new Set<string>();
  for await (const { entry } of readLedger(receiverLedger, warn)) {
    result.received++;
    if (seen.has(entry.xferId)) {
      result.duplicates.push(entry);
      continue;
    }
    seen.add(entry.xferId);
    const original = sent.get(entry.xferId);
    if (!original) result.unexpected.push(entry);
    else if (original.size !== entry.size || original.sha256 !== entry.sha256)
      result.mismatched.push({ sent: original, received: entry });
    else result.matched++;
  }
  for (const [id, entry] of sent) if (!seen.has(id)) result.missing.push(entry);
  return result;
}
