/**
 * Sending messages to the sender node's message interface, with exactly
 * the Rust client's wire sequence:
 *
 *   -> Msg {_Ch, Cmd?, MetaLen?, Len?}     <- Ok {XferId}
 *   -> MetaLen bytes (if any)               <- Ok
 *   -> Len bytes (if any)                   <- Ok
 *
 * `Cmd`, `MetaLen` and `Len` are only sent when non-zero, and an empty part
 * is neither announced nor sent nor acknowledged. Everything is checked
 * before the first byte goes out; large inputs are streamed with socket
 * backpressure, never read whole into memory. Each acknowledgement is
 * awaited within the request's time limit; writing a part is not limited.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Auth } from '../auth.ts';
import {
  byteCount,
  encodeKVLines,
  encodeParams,
  KVLines,
  Params,
  Telegram,
  U32,
} from '../blather/index.ts';
import type { ProtAddr } from '../conn/addr.ts';
import { connect } from '../conn/connect.ts';
import type { Connection, Exchange } from '../conn/connection.ts';
import type { RequestOptions } from '../conn/limits.ts';
import { readOkFail } from '../conn/request.ts';
import { DdmwError, toDdmwError } from '../err.ts';
import { type AppChannel, formatAppChannel } from '../types.ts';
import type { Input, MsgSpec } from './types.ts';

/** Options of {@link send}. */
export interface SendOptions extends RequestOptions {
  /**
   * Time limit in milliseconds for each acknowledgement of the node: the
   * one of the `Msg` request counts from the call, those of the metadata
   * and the payload from when the part was written (writing it is not
   * limited). Default: the connection's `requestTimeoutMs`. Running out of
   * time is `TIMEOUT` and closes the connection (the node discards the
   * partial message).
   */
  timeoutMs?: number;
  /**
   * Cancels the transfer (`ABORTED`). Once the transfer has begun, the peer
   * may hold part of the message, so aborting closes the connection; the
   * node discards the partial message. Aborting a send still waiting for
   * its turn leaves the connection open.
   */
  signal?: AbortSignal;
}

/** An input resolved to its length and a way to write it. */
interface Part {
  length: number;
  write(io: Exchange): Promise<void>;
}

const FILE_CHUNK = 256 * 1024;

function bytesPart(bytes: Uint8Array): Part {
  return { length: bytes.length, write: (io) => io.write(bytes) };
}

function streamPart(stream: Readable | AsyncIterable<Uint8Array>, length: number): Part {
  return { length, write: (io) => io.writeStream(stream, length) };
}

async function filePart(path: string, what: string): Promise<Part> {
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new Error('not a regular file');
    size = st.size;
  } catch (err) {
    throw toDdmwError(err, `Cannot send the ${what} file ${path}`);
  }
  return {
    length: size,
    // The file's size was fixed above; a file that shrinks or grows meanwhile is caught by writeStream.
    write: (io) => io.writeStream(createReadStream(path, { highWaterMark: FILE_CHUNK }), size),
  };
}

/** Resolves an input to its length and writer; every check happens here, before sending. */
async function toPart(input: Input | undefined, what: 'metadata' | 'payload'): Promise<Part> {
  if (input === undefined) return bytesPart(Buffer.alloc(0));
  if (typeof input === 'string') return bytesPart(Buffer.from(input, 'utf8'));
  if (input instanceof Uint8Array) return bytesPart(input);
  if (input instanceof Params) return bytesPart(encodeParams(input));
  if (input instanceof KVLines) return bytesPart(encodeKVLines(input));
  // A JavaScript caller may pass anything: `in` throws a TypeError on a number or null.
  if (typeof input === 'object' && input !== null) {
    if ('file' in input) return filePart(input.file, what);
    if ('stream' in input) return streamPart(input.stream, byteCount(input.length));
  }
  throw new DdmwError(
    'BAD_INPUT',
    `Unsupported ${what} input: use a Buffer, string, Params, KVLines, { file } or { stream, length }`,
  );
}

function msgTelegram(ch: AppChannel, cmd: number, metaLen: number, payloadLen: number): Telegram {
  const tg = new Telegram('Msg', { _Ch: formatAppChannel(ch) });
  if (cmd !== 0) tg.params.set('Cmd', cmd);
  if (metaLen !== 0) tg.params.set('MetaLen', metaLen);
  if (payloadLen !== 0) tg.params.set('Len', payloadLen);
  return tg;
}

/**
 * Sends a message on the connection (which must be to a sender node's
 * message interface) and returns the transfer id the node assigned. A
 * `Fail` from the node is a `SERVER_ERROR`; the connection stays usable.
 * See {@link SendOptions} for the time limit and cancelling.
 */
export async function send(
  conn: Connection,
  spec: MsgSpec,
  options: SendOptions = {},
): Promise<string> {
  const cmd = spec.cmd ?? 0;
  if (!Number.isInteger(cmd) || cmd < U32.min || cmd > U32.max) {
    throw new DdmwError('BAD_INPUT', `Invalid cmd ${cmd}: use an integer from 0 to ${U32.max}`);
  }
  formatAppChannel(spec.ch);
  const meta = await toPart(spec.meta, 'metadata');
  const payload = await toPart(spec.payload, 'payload');
  if (meta.length > U32.max) {
    throw new DdmwError(
      'BAD_INPUT',
      `The metadata is ${meta.length} bytes; at most ${U32.max} can be sent`,
    );
  }
  const header = msgTelegram(spec.ch, cmd, meta.length, payload.length);
  return conn.exclusive(
    async (io) => {
      await io.writeTelegram(header);
      const xferId = (await readOkFail(io)).get('XferId');
      if (xferId === undefined) {
        throw new DdmwError(
          'MISSING_DATA',
          'Missing expected transfer identifier (XferId) in the server reply',
        );
      }
      for (const [what, part] of [
        ['metadata', meta],
        ['payload', payload],
      ] as const) {
        if (part.length === 0) continue;
        io.stopLimit();
        await part.write(io);
        io.startLimit(`Acknowledgement of the ${what} of message ${xferId}`);
        await readOkFail(io);
      }
      return xferId;
    },
    'Msg request',
    options,
  );
}

/** Options of {@link connsend}. */
export interface ConnsendOptions extends SendOptions {
  /** Time limit for connecting and authenticating, and for each acknowledgement of the send. */
  timeoutMs?: number;
}

/**
 * Connects to a sender node's message interface, authenticates (when `auth`
 * is given), sends one message on `transport.ch`, and closes the
 * connection. Returns the transfer id.
 */
export async function connsend(
  addr: string | ProtAddr,
  auth: Auth | undefined,
  transport: { ch: AppChannel },
  mi: Omit<MsgSpec, 'ch'>,
  options: ConnsendOptions = {},
): Promise<string> {
  const conn = await connect(addr, { auth, timeoutMs: options.timeoutMs, signal: options.signal });
  try {
    return await send(conn, { ...mi, ch: transport.ch }, options);
  } finally {
    await conn.close();
  }
}
