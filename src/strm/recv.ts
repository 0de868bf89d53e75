/**
 * Receiving a stream on a subscribed connection: after the node announces
 * a stream (`Strm`), its `Chunk` frames are handed to a `Readable` as the
 * application reads it, and the end (`StrmEnd`) is checked against the
 * bytes received (length and sha-256). An aborted or damaged stream makes
 * the `Readable` fail; it never ends as if it were complete.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { fedReadable, type Telegram, U32, U64 } from '../blather/index.ts';
import type { Exchange } from '../conn/connection.ts';
import { failError, unexpectedReply } from '../conn/request.ts';
import { DdmwError } from '../err.ts';
import { KEYS, TOPICS } from './wire.ts';

/** Bytes a received stream buffers ahead of its reader (1 MiB). */
export const READ_AHEAD = 1024 * 1024;

/** A stream arriving on a subscription. */
export interface StreamEvent {
  /** Tells a stream from a message (`'msg'`). */
  kind: 'stream';
  /** Channel the stream was sent on (as the server names it). */
  ch: string | undefined;
  /** Application command number. */
  cmd: number;
  /** Transfer id assigned by the sender node. */
  xferId: string | undefined;
  /**
   * The bytes, as they arrive. Consume it (or destroy it, which skips the
   * rest) before the next message can be received. It fails with `ABORTED`
   * when the sender aborted the stream, and with `IO` when its length or
   * sha-256 does not match.
   */
  stream: Readable;
}

/** True when `tg` announces a stream. */
export function isStreamStart(tg: Telegram): boolean {
  return tg.topic === TOPICS.start;
}

/**
 * Starts receiving the stream that `tg` announced. Returns the event at
 * once, and `done`, which resolves once the stream's last frame was read
 * (the connection is then in step again) and rejects when the connection
 * failed under it.
 */
export function receiveStream(
  io: Exchange,
  tg: Telegram,
): { event: StreamEvent; done: Promise<void> } {
  const p = tg.params;
  const xferId = p.get(KEYS.xferId);
  // Destroyed early, the rest is still read and dropped, to keep the connection in step.
  const fed = fedReadable({ highWaterMark: READ_AHEAD });
  const stream = fed.stream;
  const fail = (err: DdmwError) => {
    if (!fed.destroyed) stream.destroy(err);
  };
  const done = (async () => {
    const hash = createHash('sha256');
    let len = 0;
    for (;;) {
      const frame = await io.reader.readTelegram();
      if (frame.topic === TOPICS.chunk) {
        await io.reader.readChunks(
          frame.params.getBigInt(KEYS.length, U64),
          (piece) => {
            hash.update(piece);
            len += piece.length;
            return fed.offer(piece);
          },
          { keep: true }, // the stream's consumer keeps its chunks
        );
      } else if (frame.topic === TOPICS.end) {
        const sha = hash.digest('hex');
        const wantLen = frame.params.getInt(KEYS.length);
        const wantSha = frame.params.getStr(KEYS.sha256);
        if (wantLen !== len || wantSha.toLowerCase() !== sha) {
          fail(
            new DdmwError(
              'IO',
              `Stream ${xferId ?? ''} failed its integrity check: ${len} bytes with sha-256 ${sha}, the node sent ${wantLen} bytes with sha-256 ${wantSha}`,
            ),
          );
        } else if (!fed.destroyed) stream.push(null);
        return;
      } else if (frame.topic === TOPICS.abort) {
        const reason = frame.params.getStrDef(KEYS.reason, 'no reason given');
        fail(new DdmwError('ABORTED', `Stream ${xferId ?? ''} was aborted: ${reason}`));
        return;
      } else if (frame.topic === 'Fail') {
        throw failError(frame);
      } else {
        throw unexpectedReply(io, frame, `${TOPICS.chunk}, ${TOPICS.end} or ${TOPICS.abort}`);
      }
    }
  })();
  done.catch((err: unknown) =>
    fail(err instanceof DdmwError ? err : new DdmwError('IO', String(err), { cause: err })),
  );
  const event: StreamEvent = {
    kind: 'stream',
    ch: p.get(KEYS.channel) ?? p.get('Ch'),
    cmd: p.getIntDef(KEYS.cmd, 0, U32),
    xferId,
    stream,
  };
  return { event, done };
}
