/**
 * `ddmw file recv` and `ddmw folder recv`: subscribe, and store each file
 * transfer under a folder at its relative path (apps/files). A message
 * that is not a valid file transfer, or a hostile one, is reported on
 * stderr and never written; a file that cannot be written is reported and
 * the next one received. SIGINT and SIGTERM end it, leaving no partial
 * file (exit 130 / 143).
 */
import { mkdir } from 'node:fs/promises';
import { file } from '../../apps/index.ts';
import { DdmwError, toDdmwError } from '../../err.ts';
import { subscribe } from '../../msg/index.ts';
import { printable } from '../action.ts';
import type { Context } from '../context.ts';
import { withLedgerOption } from '../ledger-option.ts';
import { untilSignal } from '../signals.ts';

/** Options of the receiving commands. */
export interface FileRecvOptions {
  ch?: string;
  count?: string;
  overwrite?: boolean;
  addr?: string;
  ledger?: string;
}

/** Prints one event: stored files on stdout, the others on stderr. */
function printEvent(ctx: Context, e: file.ReceiveEvent): void {
  if (e.type === 'received') {
    const { path, meta, renamed } = e.file;
    const json = {
      type: e.type,
      xferId: e.xferId,
      path,
      name: meta.path,
      size: meta.size,
      renamed,
    };
    ctx.print(json, printable(`received ${meta.path} (${meta.size} bytes) -> ${path}`));
    return;
  }
  const what = e.type === 'refused' ? 'refused' : 'could not store';
  process.stderr.write(
    `${what} ${printable(e.xferId ?? '(no id)')}: ${printable(e.error.message)}\n`,
  );
}

/** Receives file transfers into `out` until `count` files (or forever) or a signal. */
export async function runFileRecv(
  ctx: Context,
  o: FileRecvOptions,
  out: string,
  defaultCount: number,
): Promise<void> {
  const ch = ctx.channel(o.ch);
  const count = o.count === undefined ? defaultCount : Number(o.count);
  if (!(count > 0)) throw new DdmwError('BAD_PARAMS', '--count must be a positive number');
  await mkdir(out, { recursive: true }).catch((err: unknown) => {
    throw toDdmwError(err, `Cannot create the folder ${out}`);
  });
  await withLedgerOption(o.ledger, async (ledger) => {
    const ac = new AbortController();
    const conn = await ctx.connect(
      ctx.address(o.addr, ctx.config?.receiver?.subif, "receiver node's subscription interface"),
    );
    const receive = async () => {
      await subscribe(conn, ch, { signal: ac.signal });
      if (!ctx.options.json)
        process.stderr.write(`subscribed to channel ${ch}; writing files under ${out}\n`);
      await file.receive(conn, out, {
        count,
        overwrite: o.overwrite === true,
        signal: ac.signal,
        ledger,
        onEvent: (e) => printEvent(ctx, e),
      });
    };
    await untilSignal(
      () => ac.abort(),
      receive,
      () => conn.close(),
    );
  });
}
