/**
 * `ddmw recv`: subscribes and writes each message to a folder (see
 * recv-files.ts). A message that cannot be received is reported and
 * skipped; a payload that cannot be written (a full disk) ends the command.
 * SIGINT and SIGTERM end it at once, leaving no partial file (exit 130 and
 * 143).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { ledger } from '../../apps/index.ts';
import { DdmwError, toDdmwError } from '../../err.ts';
import { type Msg, type MsgError, type MsgInfo, messages, subscribe } from '../../msg/index.ts';
import type { AppChannel } from '../../types.ts';
import { printable } from '../action.ts';
import type { Context } from '../context.ts';
import { withLedgerOption } from '../ledger-option.ts';
import { counted, progress } from '../progress.ts';
import { untilSignal } from '../signals.ts';
import { checkWritable, MessageFiles, type Sidecar } from './recv-files.ts';

/** Options of `ddmw recv`. */
export interface RecvOptions {
  ch?: string;
  out: string;
  count?: string;
  exec?: string;
  addr?: string;
  ledger?: string;
}

/** Environment variables the --exec hook never sees: credentials. */
const SECRET_ENV = ['DDMW_PASS', 'DDMW_TOKEN'];

/** Text from the node made safe for a terminal: control characters (escape sequences) shown as `?`. */
/**
 * Writes the payload to its partial file (with progress), then moves it to
 * its name; returns the payload's SHA-256.
 */
async function storePayload(m: Msg, files: MessageFiles): Promise<string> {
  const bar = progress(`recv ${printable(m.xferId ?? '')}`, m.payloadLen);
  let sha256 = ledger.sha256Of('');
  try {
    if (m.payload?.kind === 'stream') {
      const tap = new ledger.Sha256Tap();
      await pipeline(
        counted(m.payload.stream, bar),
        tap,
        createWriteStream(files.partial, { flags: 'wx' }),
      );
      sha256 = tap.digest();
    } else {
      await writeFile(files.partial, Buffer.alloc(0), { flag: 'wx' }); // an empty payload
    }
  } catch (err) {
    throw toDdmwError(err, `Cannot write the payload to ${files.partial}`);
  } finally {
    bar.stop();
  }
  await files.commit(m.metaLen > 0);
  return sha256;
}

/** The --exec hook running now, if any: a signal that ends `ddmw recv` ends it too. */
let runningHook: ChildProcess | undefined;
/** A signal came: no further hook is started. */
let stopping = false;

/** Runs the --exec hook with the message described in environment variables, without credentials. */
function runHook(command: string, sidecar: Sidecar, sidecarPath: string): Promise<void> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of SECRET_ENV) delete env[name];
  Object.assign(env, {
    DDMW_XFERID: sidecar.xferId ?? '',
    DDMW_CH: sidecar.ch ?? '',
    DDMW_CMD: String(sidecar.cmd),
    DDMW_PAYLOAD: sidecar.payload,
    DDMW_SIDECAR: sidecarPath,
  });
  return new Promise((resolve) => {
    const child = spawn(command, { shell: true, stdio: 'inherit', env });
    runningHook = child;
    child.on('error', (err) => {
      process.stderr.write(`ddmw recv: --exec hook could not run: ${err.message}\n`);
    });
    child.on('close', (code, signal) => {
      runningHook = undefined;
      if (code !== 0) {
        process.stderr.write(`ddmw recv: --exec hook exited with ${code ?? signal}\n`);
      }
      resolve();
    });
  });
}

/**
 * Stores one received message in its reserved files (on failure they are
 * removed), and appends it to the ledger, if any.
 */
async function storeMessage(
  ctx: Context,
  o: RecvOptions,
  m: Msg,
  files: MessageFiles,
  book: ledger.Ledger | undefined,
) {
  let sha256: string;
  let sidecar: Sidecar;
  try {
    sha256 = await storePayload(m, files);
    sidecar = await files.writeSidecar(m);
  } catch (err) {
    await files.discard();
    throw err;
  }
  // Stored: from here on the message is kept whatever fails (the link cannot send it again).
  ctx.print(
    sidecar,
    printable(
      `received ${m.xferId} on channel ${m.ch}: cmd ${m.cmd}, ${m.payloadLen} bytes -> ${files.payload}`,
    ),
  );
  if (o.exec && !stopping) await runHook(o.exec, sidecar, files.sidecar);
  if (book && m.xferId === undefined) {
    process.stderr.write(`ddmw recv: a message without a transfer id is not in the ledger\n`);
  } else if (book && m.xferId !== undefined) {
    const entry = { xferId: m.xferId, ch: m.ch ?? '', size: m.payloadLen, sha256 };
    await book.append({ ...entry, name: files.payload });
  }
}

export async function runRecv(ctx: Context, o: RecvOptions): Promise<void> {
  const ch = ctx.channel(o.ch);
  const count = o.count === undefined ? Number.POSITIVE_INFINITY : Number(o.count);
  if (!(count > 0)) throw new DdmwError('BAD_PARAMS', '--count must be a positive number');
  await mkdir(o.out, { recursive: true }).catch((err: unknown) => {
    throw toDdmwError(err, `Cannot create the folder ${o.out}`);
  });
  await checkWritable(o.out);
  await withLedgerOption(o.ledger, (book) => receiveInto(ctx, o, { ch, count }, book));
}

/** Subscribes and stores each message until `count` or a signal. */
async function receiveInto(
  ctx: Context,
  o: RecvOptions,
  { ch, count }: { ch: AppChannel; count: number },
  book: ledger.Ledger | undefined,
): Promise<void> {
  const conn = await ctx.connect(
    ctx.address(o.addr, ctx.config?.receiver?.subif, "receiver node's subscription interface"),
  );
  const ac = new AbortController();
  const stop = () => {
    stopping = true;
    ac.abort();
    runningHook?.kill('SIGTERM');
  };
  // The files reserved for the message being received, until it is stored or skipped.
  let pending: MessageFiles | undefined;
  let dropped = Promise.resolve();
  const storeq = async (info: MsgInfo) => {
    await dropped;
    pending = await MessageFiles.reserve(o.out, info.xferId);
    const meta = info.metaLen > 0 ? { file: pending.partialMeta } : 'none';
    return { meta, payload: 'stream' } as const;
  };
  const onSkipped = (err: MsgError) => {
    process.stderr.write(`ddmw recv: ${printable(err.message)}\n`);
    dropped = pending?.discard() ?? dropped;
    pending = undefined;
  };
  const receive = async () => {
    await subscribe(conn, ch, { signal: ac.signal });
    if (!ctx.options.json)
      process.stderr.write(`subscribed to channel ${ch}; writing messages to ${o.out}\n`);
    let n = 0;
    for await (const m of messages(conn, { signal: ac.signal, storeq, onSkipped })) {
      const files = pending as MessageFiles;
      pending = undefined;
      await storeMessage(ctx, o, m, files, book);
      if (++n >= count) break;
    }
  };
  await untilSignal(stop, receive, async () => {
    await conn.close();
    await pending?.discard();
    await dropped;
  });
}
