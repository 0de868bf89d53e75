/**
 * `ddmw reconcile SENDER.ledger RECEIVER.ledger`: what was sent and never
 * received, received but never sent, received with another size or hash,
 * and received twice. Exits 1 when the ledgers disagree in any of these.
 */
import type { Command } from 'commander';
import { ledger } from '../../apps/index.ts';
import { action, printable } from '../action.ts';
import type { Context } from '../context.ts';
import { asUsageError } from '../ledger-option.ts';

type Entry = ledger.LedgerEntry;

/** One entry in a listing line: id, size, name. */
const describe = (e: Entry) =>
  printable(`${e.xferId}  ${e.size} bytes${e.name === undefined ? '' : `  ${e.name}`}`);

function report(r: ledger.Reconciliation): string {
  const lines = [
    `sent ${r.sent}, received ${r.received}: ${r.matched} matched, ${r.missing.length} missing, ` +
      `${r.unexpected.length} unexpected, ${r.mismatched.length} mismatched, ${r.duplicates.length} duplicated`,
  ];
  for (const e of r.missing) lines.push(`missing     ${describe(e)}`);
  for (const e of r.unexpected) lines.push(`unexpected  ${describe(e)}`);
  for (const m of r.mismatched) {
    lines.push(
      `mismatched  ${describe(m.sent)} (received ${m.received.size} bytes, sha256 ${m.received.sha256})`,
    );
  }
  for (const e of r.duplicates) lines.push(`duplicated  ${describe(e)}`);
  for (const w of r.warnings) lines.push(`warning: ${printable(w)}`);
  return lines.join('\n');
}

async function runReconcile(ctx: Context, _o: object, args: string[]): Promise<void> {
  const [sender, receiver] = args as [string, string];
  const r = await ledger.reconcile(sender, receiver).catch((err: unknown) => {
    throw asUsageError(err);
  });
  ctx.print({ ...r, clean: ledger.isClean(r) }, report(r));
  if (!ledger.isClean(r)) process.exitCode = 1;
}

/** Registers `reconcile`. */
export function registerReconcileCommand(program: Command): void {
  program
    .command('reconcile <sender-ledger> <receiver-ledger>')
    .description(
      'compare the ledgers of a sender and a receiver (--ledger): exit 1 when a transfer is missing, unexpected, mismatched or duplicated',
    )
    .action(action<object>(runReconcile));
}
