/**
 * `ddmw udp send|recv`: UDP pass-through (apps/udp). Both run until SIGINT
 * or SIGTERM (exit 130 / 143) and then print their counters; `udp send`
 * first sends what it gathered. A lost connection ends them (exit 3).
 */
import type { Command } from 'commander';
import type { ledger as ledgers } from '../../apps/index.ts';
import { udp } from '../../apps/index.ts';
import { DdmwError } from '../../err.ts';
import { subscribe } from '../../msg/index.ts';
import type { AppChannel } from '../../types.ts';
import { action, printable } from '../action.ts';
import type { Context } from '../context.ts';
import { withLedgerOption } from '../ledger-option.ts';
import { untilSignal } from '../signals.ts';

interface UdpSendFlags {
  ch?: string;
  listen: string;
  batchMs?: string;
  batchBytes?: string;
  addr?: string;
  ledger?: string;
}

interface UdpRecvFlags {
  ch?: string;
  to: string;
  addr?: string;
  ledger?: string;
}

function numberFlag(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new DdmwError('BAD_PARAMS', `${flag} must be a number`);
  return n;
}

async function runUdpSend(ctx: Context, o: UdpSendFlags): Promise<void> {
  const ch = ctx.channel(o.ch);
  const batchMs = numberFlag('--batch-ms', o.batchMs);
  const batchBytes = numberFlag('--batch-bytes', o.batchBytes);
  await withLedgerOption(o.ledger, (ledger) =>
    udpSend(ctx, o, { ch, batchMs, batchBytes, ledger }),
  );
}

async function udpSend(
  ctx: Context,
  o: UdpSendFlags,
  options: Omit<udp.UdpSendOptions, 'listen'>,
): Promise<void> {
  const ch = options.ch;
  const conn = await ctx.connect(
    ctx.address(o.addr, ctx.config?.sender?.msgif, "sender node's message interface"),
  );
  let fwd: udp.UdpForwarder | undefined;
  let stopping = false;
  const work = async () => {
    fwd = await udp.send(conn, { ...options, listen: o.listen });
    if (stopping) void fwd.close().catch(() => {}); // a signal came while it was starting
    process.stderr.write(
      `listening on UDP ${fwd.address.address}:${fwd.address.port}; sending on channel ${ch}\n`,
    );
    const c = await fwd.done;
    ctx.print(
      c,
      `${c.received} datagrams in, ${c.sent} sent in ${c.batches} batches, ${c.dropped} dropped`,
    );
  };
  await untilSignal(
    () => {
      stopping = true;
      void fwd?.close().catch(() => {});
    },
    work,
    () => conn.close(),
  );
}

async function runUdpRecv(ctx: Context, o: UdpRecvFlags): Promise<void> {
  const ch = ctx.channel(o.ch);
  await withLedgerOption(o.ledger, (ledger) => udpRecv(ctx, o, ch, ledger));
}

async function udpRecv(
  ctx: Context,
  o: UdpRecvFlags,
  ch: AppChannel,
  ledger: ledgers.Ledger | undefined,
): Promise<void> {
  const conn = await ctx.connect(
    ctx.address(o.addr, ctx.config?.receiver?.subif, "receiver node's subscription interface"),
  );
  const ac = new AbortController();
  let counters: udp.UdpReceiveCounters | undefined;
  const onEvent = (e: udp.UdpReceiveEvent) => {
    if (e.type === 'lost')
      process.stderr.write(`lost ${e.batches} batches, ${e.datagrams} datagrams\n`);
    if (e.type === 'refused')
      process.stderr.write(
        `refused ${printable(e.xferId ?? '(no id)')}: ${printable(e.error.message)}\n`,
      );
  };
  const work = async () => {
    await subscribe(conn, ch, { signal: ac.signal });
    process.stderr.write(`subscribed to channel ${ch}; sending datagrams to ${o.to}\n`);
    counters = await udp.receive(conn, { to: o.to, signal: ac.signal, ledger, onEvent });
  };
  await untilSignal(
    () => ac.abort(),
    work,
    () => conn.close(),
  );
  const c = counters;
  if (c) {
    ctx.print(
      c,
      `${c.datagrams} datagrams out in ${c.batches} batches; lost ${c.lostDatagrams} datagrams in ${c.lostBatches} batches; ${c.duplicates} duplicate batches, ${c.refused} refused, ${c.sendErrors} not sent on`,
    );
  }
}

/** Registers `udp send` and `udp recv`. */
export function registerUdpCommands(program: Command): void {
  const group = program
    .command('udp')
    .description('UDP pass-through: datagrams across the diode, in order, losses counted');
  group
    .command('send')
    .description(
      'take datagrams on a UDP address and send them in batches, until SIGINT or SIGTERM',
    )
    .requiredOption('--listen <host:port>', 'UDP address to take datagrams on')
    .option('--ch <channel>', 'channel number or name (default: channel in the config)')
    .option('--batch-ms <ms>', 'longest a datagram waits for its batch', '10')
    .option('--batch-bytes <n>', 'a batch goes once it holds this many bytes', '60000')
    .option('--addr <address>', "sender node's message interface; overrides the config")
    .option('--ledger <file>', 'append a line for each batch to this ledger (see reconcile)')
    .action(action<UdpSendFlags>(runUdpSend));
  group
    .command('recv')
    .description('send the datagrams of received batches to a UDP address, until SIGINT or SIGTERM')
    .requiredOption('--to <host:port>', 'UDP address to send the datagrams to')
    .option('--ch <channel>', 'channel number or name (default: channel in the config)')
    .option('--addr <address>', "receiver node's subscription interface; overrides the config")
    .option('--ledger <file>', 'append a line for each batch to this ledger (see reconcile)')
    .action(action<UdpRecvFlags>(runUdpRecv));
}
