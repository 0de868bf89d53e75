/** `ddmw send` and `ddmw recv`: messages through the sender and receiver nodes. */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { Params } from '../../blather/index.ts';
import { DdmwError } from '../../err.ts';
import { type Input, send } from '../../msg/index.ts';
import { action } from '../action.ts';
import type { Context } from '../context.ts';
import { counted, progress } from '../progress.ts';
import { type RecvOptions, runRecv } from './recv.ts';

interface SendOptions {
  ch?: string;
  cmd?: string;
  meta?: string[];
  metaFile?: string;
  text?: string;
  addr?: string;
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
  await pipeline(process.stdin, createWriteStream(file)).catch(async (err: unknown) => {
    await cleanup();
    throw err;
  });
  return { file, cleanup };
}

/** The payload: --text, a file (streamed, with progress), or `-` for standard input. */
async function payloadOf(
  o: SendOptions,
  file: string | undefined,
): Promise<{ input?: Input; stop(): Promise<void> }> {
  if (o.text !== undefined) {
    if (file !== undefined)
      throw new DdmwError('BAD_PARAMS', 'Give either a file or --text, not both');
    return { input: o.text, stop: async () => {} };
  }
  if (file === undefined) return { stop: async () => {} };
  const spooled = file === '-' ? await spoolStdin() : undefined;
  const path = spooled?.file ?? file;
  const size = (
    await stat(path).catch((err) => {
      throw new DdmwError('IO', `Cannot read ${file}: ${(err as Error).message}`);
    })
  ).size;
  const bar = progress('send', size);
  return {
    input: { stream: counted(createReadStream(path), bar), length: size },
    stop: async () => {
      bar.stop();
      await spooled?.cleanup();
    },
  };
}

async function runSend(ctx: Context, o: SendOptions, args: string[]): Promise<void> {
  const ch = ctx.channel(o.ch);
  const cmd = o.cmd === undefined ? 0 : Number(o.cmd);
  let meta: Input | undefined = o.meta?.length ? metaFromFlags(o.meta) : undefined;
  if (o.metaFile !== undefined) {
    if (meta) throw new DdmwError('BAD_PARAMS', 'Give either --meta or --meta-file, not both');
    meta = { file: o.metaFile };
  }
  const payload = await payloadOf(o, args[0]);
  const conn = await ctx.connect(
    ctx.address(o.addr, ctx.config?.sender?.msgif, "sender node's message interface"),
  );
  try {
    const xferId = await send(conn, { ch, cmd, meta, payload: payload.input });
    ctx.print({ xferId, ch, cmd }, `sent on channel ${ch} as ${xferId}`);
  } finally {
    await payload.stop();
    await conn.close();
  }
}

/** Registers `send` and `recv`. */
export function registerMessageCommands(program: Command): void {
  program
    .command('send [file]')
    .description('send a message: a file, "-" for standard input, or --text')
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
    .action(action<RecvOptions>(runRecv));
}
