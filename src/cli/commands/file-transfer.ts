/**
 * `ddmw file send|recv` and `ddmw folder send|recv`: files and folder trees
 * as file transfers (apps/files, apps/folder). `folder send --watch` keeps
 * going, and connects again after a lost connection (its journal knows
 * what was sent).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { file, folder, type ledger as ledgerApp } from '../../apps/index.ts';
import type { Connection } from '../../conn/index.ts';
import { DdmwError, isDdmwError } from '../../err.ts';
import { action, printable } from '../action.ts';
import type { Context } from '../context.ts';
import { withLedgerOption } from '../ledger-option.ts';
import { type Progress, progress } from '../progress.ts';
import { untilSignal } from '../signals.ts';
import { type FileRecvOptions, runFileRecv } from './file-recv.ts';

interface FileSendOptions {
  ch?: string;
  as?: string;
  addr?: string;
  ledger?: string;
}

interface FolderSendOptions {
  ch?: string;
  addr?: string;
  ledger?: string;
  watch?: boolean;
  pollMs?: string;
  settleMs?: string;
  ignore?: string[];
  after?: string;
  journal?: string;
}

/** Failures to connect after which `folder send --watch` tries again (a refused login is not one). */
const CONNECT_FAILURES = new Set(['DISCONNECTED', 'IO', 'TIMEOUT']);
/** First wait before connecting again; it doubles while attempts fail. */
const FIRST_RECONNECT_DELAY_MS = 1000;
/** Longest wait between connection attempts. */
const MAX_RECONNECT_DELAY_MS = 30_000;

const senderAddress = (ctx: Context, addr: string | undefined) =>
  ctx.address(addr, ctx.config?.sender?.msgif, "sender node's message interface");

async function runFileSend(ctx: Context, o: FileSendOptions, args: string[]): Promise<void> {
  const ch = ctx.channel(o.ch);
  await withLedgerOption(o.ledger, async (ledger) => {
    const conn = await ctx.connect(senderAddress(ctx, o.addr));
    let bar: Progress | undefined;
    let shown = 0;
    const onProgress = (sent: number, size: number) => {
      bar ??= progress('send', size);
      bar.add(sent - shown);
      shown = sent;
    };
    try {
      const sent = await file
        .send(conn, args[0] as string, { ch, name: o.as, ledger, onProgress })
        .finally(() => bar?.stop());
      const { path, size, sha256 } = sent.meta;
      ctx.print(
        { xferId: sent.xferId, ch, ...sent.meta },
        printable(`sent ${path} (${size} bytes, sha256 ${sha256}) as ${sent.xferId}`),
      );
    } finally {
      await conn.close();
    }
  });
}

/** `--after keep|delete|move:DIR`. */
function parseAfter(text: string | undefined): folder.After {
  if (text === undefined || text === 'keep' || text === 'delete') return text ?? 'keep';
  if (text.startsWith('move:') && text.length > 5) return { move: text.slice(5) };
  throw new DdmwError('BAD_PARAMS', `--after must be keep, delete or move:<folder>, got "${text}"`);
}

function positiveMs(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = Number(text);
  if (!(ms >= 0) || !Number.isFinite(ms))
    throw new DdmwError('BAD_PARAMS', `${flag} must be a number of milliseconds`);
  return ms;
}

function printSendEvent(ctx: Context, e: folder.FolderSendEvent): void {
  if (e.type === 'failed') {
    process.stderr.write(`not sent ${printable(e.path)}: ${printable(e.error.message)}\n`);
    return;
  }
  const json = e.type === 'sent' ? e : { type: e.type, path: e.path, to: e.to };
  const human =
    e.type === 'sent'
      ? `sent ${e.path} (${e.size} bytes) as ${e.xferId}`
      : `${e.type} ${e.path}${e.to ? ` -> ${e.to}` : ''}`;
  ctx.print(json, printable(human));
}

async function runFolderSend(ctx: Context, o: FolderSendOptions, args: string[]): Promise<void> {
  const dir = args[0] as string;
  const total = { sent: 0, failed: 0, unchanged: 0 };
  const options: folder.FolderSendOptions = {
    ch: ctx.channel(o.ch),
    watch: o.watch === true,
    pollMs: positiveMs('--poll-ms', o.pollMs),
    settleMs: positiveMs('--settle-ms', o.settleMs),
    ignore: o.ignore && [...folder.DEFAULT_IGNORE, ...o.ignore],
    after: parseAfter(o.after),
    journal: o.journal,
    onEvent: (e) => {
      if (e.type === 'sent' || e.type === 'failed') total[e.type]++;
      printSendEvent(ctx, e);
    },
  };
  const ac = new AbortController();
  /** Sends (or watches) until done; with --watch, connects again after a lost connection. */
  const work = (ledger: ledgerApp.Ledger | undefined) => async () => {
    for (let delayMs = FIRST_RECONNECT_DELAY_MS; ; ) {
      let conn: Connection | undefined;
      try {
        conn = await ctx.connect(senderAddress(ctx, o.addr));
        const r = await folder.send(conn, dir, { ...options, ledger, signal: ac.signal });
        total.unchanged = r.unchanged;
        return;
      } catch (err) {
        // Connecting failed, or the connection went: what another connection can mend.
        const lost = isDdmwError(err) && (conn ? conn.isClosed : CONNECT_FAILURES.has(err.code));
        if (!o.watch || ac.signal.aborted || !lost) throw err;
        if (conn) delayMs = FIRST_RECONNECT_DELAY_MS; // it was connected: start again from the shortest wait
        process.stderr.write(
          `ddmw folder send: ${printable((err as Error).message)}; connecting again in ${delayMs / 1000} s\n`,
        );
      } finally {
        await conn?.close();
      }
      await sleep(delayMs, undefined, { signal: ac.signal });
      delayMs = Math.min(2 * delayMs, MAX_RECONNECT_DELAY_MS);
    }
  };
  await withLedgerOption(o.ledger, (ledger) =>
    untilSignal(
      () => ac.abort(),
      work(ledger),
      async () => {},
    ),
  );
  if (!ctx.options.json)
    process.stderr.write(
      `${total.sent} sent, ${total.unchanged} sent before, ${total.failed} not sent\n`,
    );
  if (total.failed > 0 && process.exitCode === undefined) process.exitCode = 1;
}

const collect = (v: string, all: string[] = []) => [...all, v];

/** Registers `file send|recv` and `folder send|recv`. */
export function registerFileTransferCommands(program: Command): void {
  const fileGroup = program
    .command('file')
    .description('send or receive files, with their name, mode, time and SHA-256');
  fileGroup
    .command('send <file>')
    .description('send a file as a file transfer')
    .option('--ch <channel>', 'channel number or name (default: channel in the config)')
    .option('--as <path>', 'relative path the receiver stores it at (default: the file name)')
    .option('--addr <address>', "sender node's message interface; overrides the config")
    .option('--ledger <file>', 'append a line for the transfer to this ledger (see reconcile)')
    .action(action<FileSendOptions>(runFileSend));
  fileGroup
    .command('recv')
    .description(
      'receive file transfers into a folder (checked against their SHA-256; hostile paths refused)',
    )
    .option('--ch <channel>', 'channel number or name (default: channel in the config)')
    .option('--out <dir>', 'folder to write files under', '.')
    .option('--count <n>', 'stop after n files', '1')
    .option('--overwrite', 'replace a file of the same name (default: keep it, number the new one)')
    .option('--addr <address>', "receiver node's subscription interface; overrides the config")
    .option('--ledger <file>', 'append a line for each file to this ledger (see reconcile)')
    .action(action<FileRecvOptions & { out: string }>((ctx, o) => runFileRecv(ctx, o, o.out, 1)));

  const folderGroup = program
    .command('folder')
    .description('send or receive folder trees, one file transfer per file');
  folderGroup
    .command('send <dir>')
    .description('send every file under a folder (a journal in it remembers what was sent)')
    .option('--ch <channel>', 'channel number or name (default: channel in the config)')
    .option('--watch', 'keep going: send new and changed files once they stop changing')
    .option('--poll-ms <ms>', 'time between scans with --watch', '1000')
    .option(
      '--settle-ms <ms>',
      'with --watch, a file is sent once unchanged this long (default: --poll-ms)',
    )
    .option(
      '--ignore <glob>',
      `names in progress, left out (repeatable; added to ${folder.DEFAULT_IGNORE.join(' ')})`,
      collect,
    )
    .option('--after <what>', 'once sent: keep, delete or move:<folder>', 'keep')
    .option('--journal <file>', `the journal (default: <dir>/${folder.JOURNAL_NAME})`)
    .option('--addr <address>', "sender node's message interface; overrides the config")
    .option('--ledger <file>', 'append a line for each file to this ledger (see reconcile)')
    .action(action<FolderSendOptions>(runFolderSend));
  folderGroup
    .command('recv <dir>')
    .description('receive file transfers under a folder, at their relative paths')
    .option('--ch <channel>', 'channel number or name (default: channel in the config)')
    .option('--count <n>', 'stop after n files (default: never)')
    .option('--overwrite', 'replace a file of the same name (default: keep it, number the new one)')
    .option('--addr <address>', "receiver node's subscription interface; overrides the config")
    .option('--ledger <file>', 'append a line for each file to this ledger (see reconcile)')
    .action(
      action<FileRecvOptions>((ctx, o, args) =>
        runFileRecv(ctx, o, args[0] as string, Number.POSITIVE_INFINITY),
      ),
    );
}
