/**
 * A DDMW message inside the simulator: its header (the `Msg` telegram,
 * which is also the link's transfer header) and, on the receiver node, the
 * message as it waits for its subscribers and push targets.
 */
import { open } from 'node:fs/promises';
import { encodeTelegram, Telegram, U32 } from '../../blather/index.ts';
import { parseChannel } from './channels.ts';
import { discard, type Spooled, spooledSize } from './spool.ts';

/** What a message is: where it goes and how its bytes split into metadata and payload. */
export interface MsgHeader {
  /** Canonical channel text (see `parseChannel`). */
  ch: string;
  /** The transfer id handed to the sending client. */
  xferId: string;
  /** Application command number. */
  cmd: number;
  /** Bytes of metadata. */
  metaLen: number;
  /** Bytes of payload. */
  len: number;
}

/** The `Msg` telegram of a message, with every key, zeros included. */
export function msgTelegram(h: MsgHeader): Telegram {
  return new Telegram('Msg', {
    _Ch: h.ch,
    XferId: h.xferId,
    Cmd: h.cmd,
    MetaLen: h.metaLen,
    Len: h.len,
  });
}

/** The transfer ids the sender node hands out (`randomUUID`). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Reads a decoded transfer header that must be a `Msg` telegram with a
 * canonical channel and a UUID transfer id; throws when it is anything else.
 */
export function parseMsgHeader(tg: Telegram): MsgHeader {
  if (tg.topic !== 'Msg') throw new Error('not a Msg header');
  const p = tg.params;
  const ch = p.getStr('_Ch');
  if (parseChannel(ch) !== ch) throw new Error(`not a canonical channel: ${ch}`);
  const xferId = p.getStr('XferId');
  if (!UUID.test(xferId)) throw new Error('XferId is not a UUID');
  return {
    ch,
    xferId,
    cmd: p.getInt('Cmd', U32),
    metaLen: p.getInt('MetaLen', U32),
    len: p.getInt('Len'),
  };
}

/**
 * Writes chunks to a connection, resolving when it can take more; with
 * `flushed`, only once they are handed to the system (their buffers may
 * then be reused).
 */
export type ChunkWriter = (chunks: Buffer[], flushed?: boolean) => Promise<void>;

/** Bytes of spool file read at a time while writing a message out. */
const READ_CHUNK = 256 * 1024;

/**
 * A message on the receiver node. It is reference counted: every
 * subscriber or push target that queues it holds a reference, and the
 * spool file goes when the last one lets go.
 */
export class ReceivedMessage {
  /** Where it goes and how big its parts are. */
  readonly header: MsgHeader;
  /** The encoded `Msg` telegram sent in front of the bytes. */
  readonly telegram: Buffer;
  readonly #data: Spooled;
  #refs = 1;

  /** Takes over `data`; the creator holds the first reference. */
  constructor(header: MsgHeader, data: Spooled) {
    this.header = header;
    this.#data = data;
    this.telegram = encodeTelegram(msgTelegram(header));
  }

  /** Bytes of metadata plus payload. */
  get size(): number {
    return spooledSize(this.#data);
  }

  /** Adds a reference. */
  retain(): void {
    this.#refs++;
  }

  /**
   * Drops a reference; the last one removes the spool file or frees the
   * memory (for reuse: every write of it is out, see {@link writeTo}).
   */
  release(): void {
    if (--this.#refs === 0) void discard(this.#data, true);
  }

  /**
   * Writes the telegram, then the metadata and payload (streamed from the
   * spool file for large messages), awaiting `write` between chunks. Stops
   * early when `gone()` turns true; returns whether everything was written.
   */
  async writeTo(write: ChunkWriter, gone: () => boolean): Promise<boolean> {
    const data = this.#data;
    if (data.kind === 'memory') {
      // Flushed: once released, the buffers may be filled again with other data.
      await write([this.telegram, ...data.chunks], true);
      return !gone();
    }
    await write([this.telegram]);
    return writeFile(data.path, write, gone);
  }
}

/**
 * Writes a spool file out, read into two buffers in turn: one is read into
 * while the other is written, and each is reused once written (memory
 * touched for the first time costs far more than the copy: a fresh buffer
 * per read took 4 to 8 times the CPU). Returns whether all was written.
 */
async function writeFile(path: string, write: ChunkWriter, gone: () => boolean): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const buffers = [Buffer.allocUnsafeSlow(READ_CHUNK), Buffer.allocUnsafeSlow(READ_CHUNK)];
    const written = [Promise.resolve(), Promise.resolve()];
    for (let turn = 0; ; turn ^= 1) {
      await written[turn]; // the buffer's last write is out: it is free again
      if (gone()) return false;
      const buffer = buffers[turn] as Buffer;
      const { bytesRead } = await file.read(buffer, 0, READ_CHUNK, null);
      if (bytesRead === 0) break;
      written[turn] = write([buffer.subarray(0, bytesRead)], true);
    }
    await Promise.all(written);
    return !gone();
  } finally {
    await file.close();
  }
}
