/** `ddmw stream send|recv`: streams of unknown length (provisional wire format, docs/streams.md). */
import { createReadStream, createWriteStream } from 'node:fs';
import { access, rename, rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { DdmwError } from '../../err.ts';
import { messages, subscribe } from '../../msg/index.ts';
import { open } from '../../strm/index.ts';
import { action } from '../action.ts';
import type { Context } from '../context.ts';
import { parseCmdFlag } from '../flags.ts';
import { counted, type Progress, progress } from '../progress.ts';
import { safeName } from './recv-files.ts';

interface StreamFlags {
  ch?: string;
  cmd?: string;
  addr?: string;
  count?: string;
  out?: string;
}

async function runStreamSend(ctx: Context, o: StreamFlags, args: string[]): Promise<void> {
  const ch = ctx.channel(o.ch);
  const file = args[0];
  const source: Readable =
    file === undefined || file === '-' ? process.stdin : createReadStream(file);
  const conn = await ctx.connect(
    ctx.address(o.addr, ctx.config?.sender?.msgif, "sender node's message interface"),
  );
  try {
    const writer = open(conn, { ch, cmd: parseCmdFlag(o.cmd) });
    const bar = progress('stream');
    await pipeline(counted(source, bar), writer).finally(() => bar.stop());
    ctx.print(
      { xferId: writer.xferId, length: writer.length },
      `stream ${writer.xferId} sent: ${writer.length} bytes`,
    );
  } finally {
    await conn.close();
  }
}

/**
 * Writes a received stream to `<target>` (or `<target>-1`, ... when taken:
 * never over an earlier file) through a partial file, removed if the stream
 * fails.
 */
async function receiveToFile(stream: Readable, target: string, bar: Progress): Promise<void> {
  let path = target;
  for (let n = 1; await exists(path); n++) path = `${target}-${n}`;
  const partial = `${path}.part`;
  try {
    await pipeline(counted(stream, bar), createWriteStream(partial, { flags: 'wx' }));
    await rename(partial, path);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

async function runStreamRecv(ctx: Context, o: StreamFlags): Promise<void> {
  const ch = ctx.channel(o.ch);
  const count = o.count === undefined ? 1 : Number(o.count);
  if (!(count > 0)) throw new DdmwError('BAD_PARAMS', '--count must be a positive number');
  const conn = await ctx.connect(
    ctx.address(o.addr, ctx.config?.receiver?.subif, "receiver node's subscription interface"),
  );
  try {
    await subscribe(conn, ch);
    process.stderr.write(`subscribed to channel ${ch}; waiting for streams\n`);
    let n = 0;
    for await (const item of messages(conn, { streams: true })) {
      if (item.kind !== 'stream') {
        process.stderr.write(`skipping message ${item.xferId} (not a stream)\n`);
        continue;
      }
      const id = safeName(item.xferId);
      const bar = progress(`stream ${id}`);
      try {
        if (o.out === undefined) {
          await pipeline(counted(item.stream, bar), process.stdout, { end: false });
        } else {
          await receiveToFile(item.stream, `${o.out}.${id}`, bar);
        }
      } finally {
        bar.stop();
      }
      process.stderr.write(`stream ${id} received\n`);
      if (++n >= count) break;
    }
  } finally {
    await conn.close();
  }
}

/** Registers `stream send` and `stream recv`. */
export function registerStreamCommands(program: Command): void {
  const group = program
    .command('stream')
    .description('send or receive streams (data of unknown length)');
  group
    .command('send [file]')
    .description('stream a file, or standard input ("-" or nothing), until its end')
    .option('--ch <channel>', 'channel number or name (default: channel in the config)')
    .option('--cmd <number>', 'application command number', '0')
    .option('--addr <address>', "sender node's message interface; overrides the config")
    .action(action<StreamFlags>(runStreamSend));
  group
    .command('recv')
    .description(
      'subscribe and write received streams to standard output (or --out <prefix>.<xferid>)',
    )
    .option('--ch <channel>', 'channel number or name (default: channel in the config)')
    .option('--count <n>', 'stop after n streams', '1')
    .option('--out <prefix>', 'write each stream to <prefix>.<xferid> instead of standard output')
    .option('--addr <address>', "receiver node's subscription interface; overrides the config")
    .action(action<StreamFlags>(runStreamRecv));
}
