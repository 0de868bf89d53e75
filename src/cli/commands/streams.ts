/** `ddmw stream send|recv`: streams of unknown length (provisional wire format, docs/streams.md). */

import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { link, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { DdmwError } from '../../err.ts';
import { messages, subscribe } from '../../msg/index.ts';
import { open } from '../../strm/index.ts';
import { action, printable } from '../action.ts';
import type { Context } from '../context.ts';
import { parseCmdFlag } from '../flags.ts';
import { counted, type Progress, progress } from '../progress.ts';
import { untilSignal } from '../signals.ts';
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
 * never over another file) through a hidden partial file of its own,
 * removed if the stream fails.
 */
async function receiveToFile(stream: Readable, target: string, bar: Progress): Promise<string> {
  const partial = join(
    dirname(target),
    `.${basename(target)}.${randomBytes(6).toString('hex')}.part`,
  );
  try {
    await pipeline(counted(stream, bar), createWriteStream(partial, { flags: 'wx' }));
    // link() fails when the name exists: a name is taken only when free, never overwritten.
    for (let n = 0; ; n++) {
      const path = n === 0 ? target : `${target}-${n}`;
      try {
        await link(partial, path);
        return path;
      } catch (err) {
        if ((err as { code?: string }).code !== 'EEXIST') throw err;
      }
    }
  } finally {
    await rm(partial, { force: true });
  }
}

async function runStreamRecv(ctx: Context, o: StreamFlags): Promise<void> {
  const ch = ctx.channel(o.ch);
  const count = o.count === undefined ? 1 : Number(o.count);
  if (!(count > 0)) throw new DdmwError('BAD_PARAMS', '--count must be a positive number');
  const conn = await ctx.connect(
    ctx.address(o.addr, ctx.config?.receiver?.subif, "receiver node's subscription interface"),
  );
  // Ctrl-C and SIGTERM: the connection closes, the stream being written fails and its partial file goes.
  const ac = new AbortController();
  const receive = async () => {
    await subscribe(conn, ch, { signal: ac.signal });
    process.stderr.write(`subscribed to channel ${ch}; waiting for streams\n`);
    let n = 0;
    for await (const item of messages(conn, { streams: true, signal: ac.signal })) {
      if (item.kind !== 'stream') {
        process.stderr.write(`skipping message ${printable(item.xferId ?? '')} (not a stream)\n`);
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
  };
  await untilSignal(
    () => ac.abort(),
    receive,
    () => conn.close(),
  );
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
