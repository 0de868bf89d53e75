/**
 * Streams on the sender node's message interface (provisional wire format,
 * see docs/streams.md): the client opens a stream, sends it in `Chunk`
 * frames with no reply per chunk, and ends or aborts it.
 *
 * ```
 * C: Strm _Ch [Cmd]                     S: Ok XferId   (or Fail)
 * C: Chunk Len + <Len bytes>  (repeated, no reply)
 * C: StrmEnd                            S: Ok Len      (after the end went onto the link)
 * C: StrmAbort Reason                   S: Ok          (instead of StrmEnd)
 * ```
 *
 * The node cuts the bytes into segments of at most {@link SEGMENT_SIZE} and
 * sends each one over the link as its own transfer as soon as it is full
 * (or as soon as the client has nothing more on the way), so the receiver
 * node can hand the stream on before it ends. At most {@link IN_FLIGHT}
 * segments wait for the link; then the node stops reading the client's
 * socket, which is the writer's only backpressure: the link has no back
 * channel.
 */
import { randomUUID } from 'node:crypto';
import { encodeTelegram, Params, Telegram, U32, U64 } from '../../blather/index.ts';
import type { LinkSender } from '../link/sender.ts';
import { STREAM_TOPICS } from '../link/transfer-header.ts';
import { deniedReason, mayUse, parseChannel, sendRevokedReason } from '../node/channels.ts';
import { CommandFailed, type CommandHandler, type Session } from '../node/session.ts';
import type { SimulatorStats } from '../stats.ts';
import { SegmentPieces } from './segment-pieces.ts';

/**
 * Largest stream segment on the link (1 MiB, or the link's largest
 * transfer if that is smaller): large enough that the work per segment
 * does not dominate, small enough that the receiver gets a busy stream in
 * good time (a segment also goes as soon as the client has nothing more on
 * the way).
 */
export const SEGMENT_SIZE = 1024 * 1024;
/** Segments of one stream that may wait for the link before the node stops reading the client. */
export const IN_FLIGHT = 4;
/**
 * An open stream with nothing to send for this long sends an empty segment,
 * so the receiving end can tell a quiet stream from one whose end was lost
 * (it gives up after `STREAM_IDLE_MS`, link/transfer-header.ts).
 */
export const KEEPALIVE_MS = 30_000;

/** Characters of an abort reason carried to the receiver (4 bytes each at most: it fits a header). */
const MAX_REASON_CHARS = 150;

/** What the `Strm` command needs from the sender node. */
export interface StrmifContext {
  /** Where the segments go. */
  link: LinkSender;
  /** Counters to update. */
  stats: SimulatorStats;
}

/**
 * One stream on its way onto the link: the segment being gathered (see
 * segment-pieces.ts), and the segments waiting for the link.
 */
export class OutgoingStream {
  readonly #link: LinkSender;
  readonly #xferId: string;
  readonly #segmentSize: number;
  /** The segment being gathered. */
  readonly #segment = new SegmentPieces();
  #seq = 0;
  #inFlight = 0;
  #wake: (() => void) | undefined;
  #keepalive: NodeJS.Timeout | undefined;
  #quiet = false;
  /** The stream's channel, for loss reports. */
  #ch: string | undefined;
  /** Bytes of the stream so far. */
  length = 0;

  constructor(link: LinkSender, xferId: string) {
    this.#link = link;
    this.#xferId = xferId;
    this.#segmentSize = Math.min(SEGMENT_SIZE, link.maxTransferBytes);
  }

  /** Opens a transfer of the bytes of `pieces`. */
  #enqueue(tg: Telegram, pieces: Buffer[] = []): void {
    this.#inFlight++;
    this.#quiet = false;
    const info = { what: 'stream', xferId: this.#xferId, ch: this.#ch } as const;
    const length = pieces.reduce((sum, piece) => sum + piece.length, 0);
    const transfer = this.#link.open(encodeTelegram(tg), length, info);
    for (const piece of pieces) transfer.push(piece);
    void transfer.sent.then(() => {
      this.#inFlight--;
      const wake = this.#wake;
      this.#wake = undefined;
      wake?.();
    });
  }

  /** Waits until at most `limit` transfers of this stream wait for the link. */
  async #settle(limit: number): Promise<void> {
    while (this.#inFlight > limit) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  /** Announces the stream on the link. */
  start(ch: string, cmd: number): void {
    this.#ch = ch;
    this.#enqueue(new Telegram(STREAM_TOPICS.start, { _Ch: ch, XferId: this.#xferId, Cmd: cmd }));
    this.#keepalive = setInterval(() => {
      if (this.#quiet && this.#segment.bytes === 0) this.#segmentOut([]);
      this.#quiet = true;
    }, KEEPALIVE_MS).unref();
  }

  /** Sends one segment: the bytes of `pieces`. */
  #segmentOut(pieces: Buffer[]): void {
    const tg = new Telegram(STREAM_TOPICS.segment, { XferId: this.#xferId, Seq: this.#seq++ });
    this.#enqueue(tg, pieces);
  }

  /** Adds bytes (kept or copied: the caller must not reuse `piece`), sending each segment that fills up. */
  async write(piece: Buffer): Promise<void> {
    let at = 0;
    while (at < piece.length) {
      const n = Math.min(piece.length - at, this.#segmentSize - this.#segment.bytes);
      this.#segment.add(piece.subarray(at, at + n));
      at += n;
      if (this.#segment.bytes === this.#segmentSize) await this.flush();
    }
  }

  /** Sends the partly filled segment, if any; waits while too many segments wait for the link. */
  async flush(): Promise<void> {
    const bytes = this.#segment.bytes;
    if (bytes > 0) {
      this.length += bytes;
      this.#segmentOut(this.#segment.take());
    }
    await this.#settle(IN_FLIGHT - 1);
  }

  /** Sends the rest and the end (length, segment count); resolves once all is on the link. */
  async end(): Promise<void> {
    await this.flush();
    clearInterval(this.#keepalive);
    const params = { XferId: this.#xferId, Len: this.length, Segs: this.#seq };
    this.#enqueue(new Telegram(STREAM_TOPICS.end, params));
    await this.#settle(0);
  }

  /** Tells the receiving end that the stream will not be completed. */
  abort(reason: string): void {
    clearInterval(this.#keepalive);
    // The reason may come from the client: cut it to fit a transfer header (and one line).
    const short = [...reason.replace(/[\r\n]+/g, ' ')].slice(0, MAX_REASON_CHARS).join('');
    this.#enqueue(new Telegram(STREAM_TOPICS.abort, { XferId: this.#xferId, Reason: short }));
  }
}

/** Reads and checks the request; throws `CommandFailed` (or a getter's error) for a `Fail`. */
function readRequest(session: Session, request: Telegram): { ch: string; cmd: number } {
  const ch = parseChannel(request.params.getStr('_Ch'));
  const cmd = request.params.getIntDef('Cmd', 0, U32);
  if (!mayUse(session.account, 'send', ch)) {
    throw new CommandFailed(deniedReason(session.account, 'send', ch));
  }
  return { ch, cmd };
}

/**
 * Carries the stream's frames onto the link until its end; returns the
 * final reply. Throws {@link CommandFailed} when the account may no longer
 * send on `ch` (locked, removed, permission revoked since the stream opened).
 */
async function carry(session: Session, out: OutgoingStream, ch: string): Promise<Params> {
  const reader = session.reader;
  for (;;) {
    session.restBetweenFrames(); // a stream may be quiet between its chunks
    const tg = await reader.readTelegram();
    if (tg.topic !== 'StrmAbort' && !mayUse(session.account, 'send', ch)) {
      throw new CommandFailed(sendRevokedReason(session.account, ch));
    }
    if (tg.topic === 'Chunk') {
      const len = tg.params.getBigInt('Len', U64);
      // Kept (the session's socket does not lend its reads): the segment may hold them.
      await reader.readChunks(len, (piece) => out.write(piece), { keep: true });
      // Nothing more on the way from the client: let the receiver have what is here.
      if (reader.buffered === 0) await out.flush();
    } else if (tg.topic === 'StrmEnd') {
      await out.end();
      return new Params().set('Len', out.length);
    } else if (tg.topic === 'StrmAbort') {
      out.abort(`aborted by the sender: ${tg.params.getStrDef('Reason', 'no reason given')}`);
      return new Params();
    } else {
      throw new Error(`"${tg.topic}" in the middle of a stream`);
    }
  }
}

/** The `Strm` command of the sender node's message interface. */
export function strmCommand(ctx: StrmifContext): CommandHandler {
  return async (session, request) => {
    let fields: { ch: string; cmd: number };
    try {
      fields = readRequest(session, request);
    } catch (err) {
      ctx.stats.msgsRejected++;
      throw err;
    }
    const xferId = randomUUID();
    const out = new OutgoingStream(ctx.link, xferId);
    out.start(fields.ch, fields.cmd);
    await session.ok(new Params().set('XferId', xferId));
    let reply: Params;
    try {
      reply = await carry(session, out, fields.ch);
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      out.abort(err instanceof CommandFailed ? text : `the sender's connection failed: ${text}`);
      ctx.stats.msgsAborted++;
      if (!session.reader.error && !session.socket.destroyed) {
        // A protocol error or a revoked right in the middle of a stream: the bytes that follow cannot be framed.
        await session.fail(`Stream ${xferId} aborted: ${text}`);
        session.close();
        return new Params();
      }
      throw err;
    }
    if (reply.has('Len')) ctx.stats.msgsAccepted++;
    else ctx.stats.msgsAborted++;
    session.log(`stream ${xferId} on channel ${fields.ch}: ${out.length} bytes`);
    return reply;
  };
}
