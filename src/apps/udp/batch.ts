/**
 * A batch of datagrams as one message. The metadata (a params block) says
 * which batch it is; the payload holds the datagrams in order, each as a
 * 2-byte big-endian length and its bytes (a UDP datagram carries at most
 * 65,507 bytes).
 *
 * | key | value |
 * |---|---|
 * | `Format` | `ddmw-udp/1` |
 * | `Session` | the sending run, 16 hex digits (numbering starts again with a new one) |
 * | `Seq` | the batch's number in its session, from 0 |
 * | `First` | the number of its first datagram in the session, from 0 |
 * | `Count` | datagrams in the batch |
 */
import { blather, DdmwError } from '../../index.ts';

/** The `Format` of a batch's metadata. */
export const UDP_FORMAT = 'ddmw-udp/1';
/** Bytes in front of each datagram. */
export const FRAME_HEADER = 2;

/** Which batch a message holds. */
export interface BatchHeader {
  /** The sending run. */
  session: string;
  /** Batch number in the session, from 0. */
  seq: number;
  /** Number of its first datagram in the session, from 0. */
  first: number;
  /** Datagrams in it. */
  count: number;
}

const SESSION = /^[0-9a-f]{16}$/;

/** The metadata of a batch. */
export function encodeBatchHeader(h: BatchHeader): blather.Params {
  return new blather.Params({
    Format: UDP_FORMAT,
    Session: h.session,
    Seq: h.seq,
    First: h.first,
    Count: h.count,
  });
}

/** Whether a received metadata block is a batch's (it names the format). */
export function isBatch(params: blather.Params): boolean {
  return params.get('Format') === UDP_FORMAT;
}

/** Largest batch payload (16 MiB): a receiver refuses more before reading it. */
export const MAX_BATCH_BYTES = 16 * 1024 * 1024;
/** Most datagrams in a batch (a sender seals a batch when it holds this many). */
export const MAX_BATCH_DATAGRAMS = 65_536;
/** Largest datagram over IPv4 and over IPv6 (UDP's limits). */
export const MAX_DATAGRAM = {
  /** Over IPv4. */
  udp4: 65_507,
  /** Over IPv6. */
  udp6: 65_527,
} as const;

const COUNT = { min: 0, max: Number.MAX_SAFE_INTEGER };

/** The header of a received batch; `BAD_INPUT` saying what is wrong. */
export function decodeBatchHeader(params: blather.Params): BatchHeader {
  const bad = (why: string) => new DdmwError('BAD_INPUT', `Not a valid UDP batch: ${why}`);
  if (!isBatch(params)) throw bad(`Format is not ${UDP_FORMAT}`);
  const session = params.get('Session') ?? '';
  if (!SESSION.test(session)) throw bad('Session is not 16 hex digits');
  let header: BatchHeader;
  try {
    header = {
      session,
      seq: params.getInt('Seq', COUNT),
      first: params.getInt('First', COUNT),
      count: params.getInt('Count', { min: 1, max: MAX_BATCH_DATAGRAMS }),
    };
  } catch (err) {
    throw bad(err instanceof Error ? err.message : String(err));
  }
  return header;
}

/** The payload of a batch: each datagram framed. */
export function encodeDatagrams(datagrams: Buffer[]): Buffer {
  let size = 0;
  for (const d of datagrams) size += FRAME_HEADER + d.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const d of datagrams) {
    out.writeUInt16BE(d.length, at);
    d.copy(out, at + FRAME_HEADER);
    at += FRAME_HEADER + d.length;
  }
  return out;
}

/**
 * Checks that a batch's payload holds exactly `count` framed datagrams of
 * at most `maxDatagram` bytes each, walking the frames without keeping
 * them; `BAD_INPUT` otherwise.
 */
export function checkDatagrams(payload: Buffer, count: number, maxDatagram: number): void {
  let frames = 0;
  let at = 0;
  while (at + FRAME_HEADER <= payload.length && frames < count) {
    const length = payload.readUInt16BE(at);
    if (length > maxDatagram) {
      throw new DdmwError(
        'BAD_INPUT',
        `Not a valid UDP batch: a datagram of ${length} bytes (at most ${maxDatagram} can be sent on)`,
      );
    }
    at += FRAME_HEADER + length;
    frames++;
  }
  if (frames !== count || at !== payload.length) {
    throw new DdmwError(
      'BAD_INPUT',
      `Not a valid UDP batch: its payload does not hold exactly ${count} framed datagrams`,
    );
  }
}

/** The datagrams of a payload {@link checkDatagrams} accepted, one at a time (views into it). */
export function* datagramsOf(payload: Buffer): Generator<Buffer> {
  for (let at = 0; at < payload.length; ) {
    const length = payload.readUInt16BE(at);
    yield payload.subarray(at + FRAME_HEADER, at + FRAME_HEADER + length);
    at += FRAME_HEADER + length;
  }
}
