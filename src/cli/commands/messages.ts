/** `ddmw send` and `ddmw recv`: messages through the sender and receiver nodes. */
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { decodeParams, Params } from '../../blather/index.ts';
import { DdmwError } from '../../err.ts';
import { type Input, type Msg, messages, send, subscribe } from '../../msg/index.ts';
import { action } from '../action.ts';
import type { Context } from '../context.ts';
import { counted, progress } from '../progress.ts';

interface SendOptions {
  ch?: string;
  cmd?: string;
  meta?: string[];
  metaFile?: string;
  text?: string;
  addr?: string;
}

interface RecvOptions {
  ch?: string;
  out: string;
  count?: string;
  exec?: string;
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

/** The metadata as key/values when it is a params block, else as base64. */
function describeMeta(bytes: Buffer | undefined): Promise<unknown> {
  if (!bytes) return Promise.resolve(undefined);
  return decodeParams(bytes).then(
    (p) => p.toObject(),
    () => ({ base64: bytes.toString('base64') }),
  );
}

async function store(ctx: Context, o: RecvOptions, m: Msg): Promise<string> {
  const id = (m.xferId ?? `msg-${Date.now()}`).replace(/[^A-Za-z0-9._-]/g, '_');
  const payloadPath = join(o.out, `${id}.payload`);
  const tmp = `${payloadPath}.part`;
  const bar = progress(`recv ${id}`, m.payloadLen);
  if (m.payload?.kind === 'stream') {
    await pipeline(counted(m.payload.stream, bar), createWriteStream(tmp));
  } else {
    await writeFile(tmp, Buffer.alloc(0));
  }
  bar.stop();
  await rename(tmp, payloadPath);
  const metaBytes = m.meta?.kind === 'bytes' ? m.meta.bytes : undefined;
  const sidecar = {
    xferId: m.xferId,
    ch: m.ch,
    cmd: m.cmd,
    metaLen: m.metaLen,
    payloadLen: m.payloadLen,
    meta: await describeMeta(metaBytes),
    payload: payloadPath,
  };
  const sidecarPath = join(o.out, `${id}.json`);
  await writeFile(sidecarPath, `${JSON.stringify(sidecar, null, 2)}\n`);
  ctx.print(
    sidecar,
    `received ${m.xferId} on channel ${m.ch}: cmd ${m.cmd}, ${m.payloadLen} bytes -> ${payloadPath}`,
  );
  if (o.exec) await runHook(o.exec, sidecar, sidecarPath);
  return payloadPath;
}

/** Runs the --exec hook with the message described in environment variables. */
function runHook(
  command: string,
  m: { xferId?: string; ch?: string; cmd: number; payload: string },
  sidecar: string,
): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(command, {
      shell: true,
      stdio: 'inherit',
      env: {
        ...process.env,
        DDMW_XFERID: m.xferId ?? '',
        DDMW_CH: m.ch ?? '',
        DDMW_CMD: String(m.cmd),
        DDMW_PAYLOAD: m.payload,
        DDMW_SIDECAR: sidecar,
      },
    });
    child.on('exit', (code) => {
      if (code !== 0) process.stderr.write(`ddmw recv: --exec hook exited with ${code}\n`);
      resolve();
    });
  });
}

async function runRecv(ctx: Context, o: RecvOptions): Promise<void> {
  const ch = ctx.channel(o.ch);
  const count = o.count === undefined ? Number.POSITIVE_INFINITY : Number(o.count);
  if (!(count > 0)) throw new DdmwError('BAD_PARAMS', '--count must be a positive number');
  await mkdir(o.out, { recursive: true });
  const conn = await ctx.connect(
    ctx.address(o.addr, ctx.config?.receiver?.subif, "receiver node's subscription interface"),
  );
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  try {
    await subscribe(conn, ch);
    if (!ctx.options.json)
      process.stderr.write(`subscribed to channel ${ch}; writing messages to ${o.out}\n`);
    let n = 0;
    const onSkipped = (err: Error) => process.stderr.write(`ddmw recv: ${err.message}\n`);
    const options = { signal: ac.signal, storeq: () => 'stream' as const, onSkipped };
    for await (const m of messages(conn, options)) {
      await store(ctx, o, m);
      if (++n >= count) break;
    }
  } finally {
    process.off('SIGINT', stop);
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
      'subscribe and write each message to a folder: <xferid>.payload plus a <xferid>.json sidecar',
    )
    .option('--ch <channel>', 'channel number or name (default: channel in the config)')
    .option('--out <dir>', 'folder for received messages', '.')
    .option('--count <n>', 'stop after n messages')
    .option(
      '--exec <command>',
      'run after each message (env: DDMW_XFERID, DDMW_CH, DDMW_CMD, DDMW_PAYLOAD, DDMW_SIDECAR)',
    )
    .option('--addr <address>', "receiver node's subscription interface; overrides the config")
    .action(action<RecvOptions>(runRecv));
}
