/** `ddmw send` and `ddmw recv`: messages through the sender and receiver nodes. */
import { createWriteStream } from 'node:fs';
import { type FileHandle, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { ledger } from '../../apps/index.ts';
import { Params } from '../../blather/index.ts';
import { DdmwError } from '../../err.ts';
import { type Input, send } from '../../msg/index.ts';
import { action } from '../action.ts';
import type { Context } from '../context.ts';
import { parseCmdFlag } from '../flags.ts';
import { withLedgerOption } from '../ledger-option.ts';
import { counted, progress } from '../progress.ts';
import { type RecvOptions, runRecv } from './recv.ts';

interface SendOptions {
  ch?: string;
  cmd?: string;
  meta?: string[];
  metaFile?: string;
  text?: string;
  addr?: string;
  ledger?: string;
}

function metaFromFlags(pairs: string[]): Params {
  const meta = new Params();
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new DdmwError('BAD_INPUT', `--meta expects key=value, got "${pair}"`);
    try {
      meta.set(pair.slice(0, eq), pair.slice(eq + 1));
    } catch (err) {
      // A bad key or a value with a line break is a usage error, not a protocol one.
      const reason = err instanceof Error ? err.message : String(err);
      throw new DdmwError('BAD_INPUT', `--meta ${pair.slice(0, eq)}: ${reason}`);
    }
  }
  return meta;
}

/**
 * Standard input spooled to a temporary file: a message needs its length
 * before it is sent, and a large input must not be held in memory.
 */
async function spoolStdin(): Promise<{ file: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'ddmw-stdin-'));
  const file = join(dir, 'stdin');
  const cleanup = () => rm(dir, { recursive: true, force: true });
  const bar = progress('reading standard input');
  await pipeline(counted(process.stdin, bar), createWriteStream(file))
    .catch(async (err: unknown) => {
      await cleanup();
      throw err;
    })
    .finally(() => bar.stop());
  return { file, cleanup };
}

/**
 * Opens the file to send, before anything is sent: a missing, unreadable
 * or not regular file is a usage error naming it.
 */
async function openInput(path: string, name: string): Promise<{ fh: FileHandle; size: number }> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(path, 'r');
    const st = await fh.stat();
    if (!st.isFile()) throw new Error(st.isDirectory() ? 'it is a folder' : 'not a regular file');
    return { fh, size: st.size };
  } catch (err) {
    await fh?.close();
    const reason = err instanceof Error ? err.message : String(err);
    throw new DdmwError('BAD_INPUT', `Cannot send ${name}: ${reason}`, { cause: err });
  }
}

/** The payload to send, how to stop reading it, and its size and SHA-256 once sent (for --ledger). */
interface Payload {
  input?: Input;
  size: number;
  stop(): Promise<void>;
  sha256(): string;
}

const NO_PAYLOAD_SHA256 = ledger.sha256Of('');

/**
 * The payload: --text, a file (streamed, with progress), or standard input
 * (`-`, or no file when standard input is not a terminal). With neither on
 * a terminal, only metadata is sent, and nothing at all is a usage error.
 */
async function payloadOf(o: SendOptions, file: string | undefined): Promise<Payload> {
  if (o.text !== undefined) {
    if (file !== undefined)
      throw new DdmwError('BAD_PARAMS', 'Give either a file or --text, not both');
    const sha256 = ledger.sha256Of(o.text);
    const size = Buffer.byteLength(o.text);
    return { input: o.text, size, stop: async () => {}, sha256: () => sha256 };
  }
  const source = file ?? (process.stdin.isTTY ? undefined : '-');
  if (source === undefined) {
    if (o.meta?.length || o.metaFile !== undefined)
      return { size: 0, stop: async () => {}, sha256: () => NO_PAYLOAD_SHA256 };
    throw new DdmwError(
      'BAD_PARAMS',
      'Nothing to send: give a file, - for standard input, --text, or --meta',
    );
  }
  const spooled = source === '-' ? await spoolStdin() : undefined;
  const opened = await openInput(
    spooled?.file ?? source,
    source === '-' ? 'standard input' : source,
  ).catch(async (err: unknown) => {
    await spooled?.cleanup();
    throw err;
  });
  const bar = progress('send', opened.size);
  const stream = opened.fh.createReadStream();
  const tap = new ledger.Sha256Tap();
  const read = counted(stream, bar);
  read.on('error', (err) => tap.destroy(err));
  return {
    input: { stream: read.pipe(tap), length: opened.size },
    size: opened.size,
    // An empty payload is never read (nothing is sent), so the tap never ends.
    sha256: () => (opened.size === 0 ? NO_PAYLOAD_SHA256 : tap.digest()),
    stop: async () => {
      bar.stop();
      stream.destroy();
      await opened.fh.close().catch(() => {});
      await spooled?.cleanup();
    },
  };
}

async function runSend(ctx: Context, o: SendOptions, args: string[]): Promise<void> {
  const ch = ctx.channel(o.ch);
  const cmd = parseCmdFlag(o.cmd);
  let meta: Input | undefined = o.meta?.length ? metaFromFlags(o.meta) : undefined;
  if (o.metaFile !== undefined) {
    if (meta) throw new DdmwError('BAD_PARAMS', 'Give either --meta or --meta-file, not both');
    await (await openInput(o.metaFile, `--meta-file ${o.metaFile}`)).fh.close(); // checked before connecting
    meta = { file: o.metaFile };
  }
  await withLedgerOption(o.ledger, async (book) => {
    const payload = await payloadOf(o, args[0]);
    try {
      const conn = await ctx.connect(
        ctx.address(o.addr, ctx.config?.sender?.msgif, "sender node's message interface"),
      );
      try {
        const xferId = await send(conn, { ch, cmd, meta, payload: payload.input });
        await payload.stop(); // the progress line is erased before the result is printed
        const name = o.text !== undefined ? '--text' : (args[0] ?? '-');
        const { size } = payload;
        await book?.append({ xferId, ch: String(ch), size, sha256: payload.sha256(), name });
        ctx.print({ xferId, ch, cmd }, `sent on channel ${ch} as ${xferId}`);
      } finally {
        await conn.close();
      }
    } finally {
      await payload.stop();
    }
  });
}

/** Registers `send` and `recv`. */
export function registerMessageCommands(program: Command): void {
  program
    .command('send [file]')
    .description(
      'send a message: a file, "-" (or nothing, when piped) for standard input, or --text',
    )
    .option('--ch <channel>', 'channel number or name (default: channel in the config)')
    .option('--cmd <number>', 'application command number', '0')
    .option(
      '--meta <key=value>',
      'metadata entry (repeatable)',
      (v: string, all: string[] = []) => [...all, v],
    )
    .option('--meta-file <file>', 'send this file as the metadata')
    .option('--text <text>', 'send this text as the payload')
    .option('--addr <address>', "sender node's message interface; overrides the config")
    .option('--ledger <file>', 'append a line for the transfer to this ledger (see reconcile)')
    .action(action<SendOptions>(runSend));
  program
    .command('recv')
    .description(
      'subscribe and write each message to a folder: <xferid>.payload, <xferid>.meta (if any) and a <xferid>.json sidecar',
    )
    .option('--ch <channel>', 'channel number or name (default: channel in the config)')
    .option('--out <dir>', 'folder for received messages', '.')
    .option('--count <n>', 'stop after n messages')
    .option(
      '--exec <command>',
      'run after each message (env: DDMW_XFERID, DDMW_CH, DDMW_CMD, DDMW_PAYLOAD, DDMW_SIDECAR; never DDMW_PASS or DDMW_TOKEN)',
    )
    .option('--addr <address>', "receiver node's subscription interface; overrides the config")
    .option('--ledger <file>', 'append a line for each message to this ledger (see reconcile)')
    .action(action<RecvOptions>(runRecv));
}
