/**
 * The datagram format of the simulated one-way link, shared by its sending
 * end (sender.ts) and its receiving end (reassembly.ts), and the
 * events the receiving thread posts to the node. See docs/simulator.md,
 * "The one-way link".
 *
 * A transfer is a header (a blather telegram whose topic names the kind of
 * transfer, such as `Msg`) plus a run of data bytes. It travels as
 * `count` datagrams; each one carries:
 *
 * ```
 * offset size field
 *  0      4   magic "DDL1" (format version 1)
 *  4      1   flags: 1 = FIRST (the transfer header follows), 2 = LAST (the sha-256 follows)
 *  5      1   reserved, 0
 *  6      2   header length H (0 unless FIRST)
 *  8      8   link session: random, chosen when the sending end starts
 * 16      8   transfer number: 1, 2, 3, ... within the link session
 * 24      4   sequence number of this datagram, 0 .. count-1
 * 28      4   count: datagrams in the transfer
 * 32      8   total: data bytes in the transfer
 * 40      8   offset of this datagram's data within the transfer
 * 48      H   transfer header (FIRST only)
 *  .     32   sha-256 of all data bytes of the transfer (LAST only)
 *  .      -   data, up to the end of the datagram
 * ```
 *
 * All integers are big-endian.
 */

/** Bytes of the fixed part that starts every datagram. */
export const FIXED_SIZE = 48;
/** Bytes of a sha-256 digest. */
export const HASH_SIZE = 32;
/** `DDL1`. */
const MAGIC = 0x44444c31;
/** Flag: the datagram carries the transfer header. */
const FLAG_FIRST = 1;
/** Flag: the datagram carries the sha-256 of the transfer's data. */
const FLAG_LAST = 2;
/** Largest UDP payload over IPv4. */
export const MAX_DATAGRAM_SIZE = 65507;
/** Smallest datagram size the link accepts: room for the fixed part, a header and the hash. */
export const MIN_DATAGRAM_SIZE = 1024;
/** Largest transfer header, so that the first datagram always has room for it and the hash. */
export const MAX_HEADER_SIZE = MIN_DATAGRAM_SIZE - FIXED_SIZE - HASH_SIZE;

const TWO_32 = 2 ** 32;

/** The fields of one datagram. */
export interface Datagram {
  /** The sending end's link session (8 bytes as 16 hex characters). */
  session: string;
  /** Transfer number within the session, from 1. */
  transfer: number;
  /** Sequence number, 0 .. count-1. */
  seq: number;
  /** Datagrams in the transfer. */
  count: number;
  /** Data bytes in the transfer. */
  total: number;
  /** Where this datagram's data goes in the transfer. */
  offset: number;
  /** The transfer header (first datagram only). */
  header: Buffer | undefined;
  /** The sha-256 of the transfer's data (last datagram only). */
  hash: Buffer | undefined;
  /** This datagram's data. */
  data: Buffer;
}

/** Datagrams needed for `total` data bytes with a header of `headerSize` bytes. */
export function datagramCount(total: number, headerSize: number, datagramSize: number): number {
  return Math.max(1, Math.ceil((total + headerSize + HASH_SIZE) / (datagramSize - FIXED_SIZE)));
}

/** Data bytes datagram `seq` of `count` can hold. */
export function dataRoom(
  seq: number,
  count: number,
  headerSize: number,
  datagramSize: number,
): number {
  const first = seq === 0 ? headerSize : 0;
  const last = seq === count - 1 ? HASH_SIZE : 0;
  return datagramSize - FIXED_SIZE - first - last;
}

function writeU64(buf: Buffer, value: number, at: number): void {
  buf.writeUInt32BE(Math.floor(value / TWO_32), at);
  buf.writeUInt32BE(value >>> 0, at + 4);
}

function readU64(buf: Buffer, at: number): number | undefined {
  const high = buf.readUInt32BE(at);
  // Larger values are not safe integers; no real transfer gets there.
  return high >= 2 ** 21 ? undefined : high * TWO_32 + buf.readUInt32BE(at + 4);
}

/** The fields {@link writeFixed} puts in front of a datagram. */
export interface FixedFields {
  /** The link session, 8 bytes. */
  session: Buffer;
  /** Transfer number within the session. */
  transfer: number;
  /** Sequence number of the datagram. */
  seq: number;
  /** Datagrams in the transfer. */
  count: number;
  /** Data bytes in the transfer. */
  total: number;
  /** Where this datagram's data goes in the transfer. */
  offset: number;
  /** Length of the transfer header that follows (0 when not FIRST). */
  headerSize: number;
}

/** Writes the fixed part of a datagram into `buf` (which must hold at least {@link FIXED_SIZE} bytes). */
export function writeFixed(buf: Buffer, f: FixedFields): void {
  buf.writeUInt32BE(MAGIC, 0);
  buf[4] = (f.seq === 0 ? FLAG_FIRST : 0) | (f.seq === f.count - 1 ? FLAG_LAST : 0);
  buf[5] = 0;
  buf.writeUInt16BE(f.headerSize, 6);
  f.session.copy(buf, 8, 0, 8);
  writeU64(buf, f.transfer, 16);
  buf.writeUInt32BE(f.seq, 24);
  buf.writeUInt32BE(f.count, 28);
  writeU64(buf, f.total, 32);
  writeU64(buf, f.offset, 40);
}

/**
 * Decodes a datagram, or returns why it is malformed. The pieces are views
 * into `buf`. Checks only what one datagram can tell; the receiving end
 * checks that it fits its transfer.
 */
export function parseDatagram(buf: Buffer): Datagram | string {
  if (buf.length < FIXED_SIZE || buf.readUInt32BE(0) !== MAGIC) return 'not a link datagram';
  const flags = buf[4] as number;
  const headerSize = buf.readUInt16BE(6);
  const transfer = readU64(buf, 16);
  const seq = buf.readUInt32BE(24);
  const count = buf.readUInt32BE(28);
  const total = readU64(buf, 32);
  const offset = readU64(buf, 40);
  if (transfer === undefined || total === undefined || offset === undefined) {
    return 'a number is out of range';
  }
  const first = seq === 0;
  const last = seq === count - 1;
  if (seq >= count || (flags & FLAG_FIRST) !== (first ? FLAG_FIRST : 0)) return 'bad sequence';
  if ((flags & FLAG_LAST) !== (last ? FLAG_LAST : 0)) return 'bad sequence';
  if (!first && headerSize !== 0) return 'a header outside the first datagram';
  const dataAt = FIXED_SIZE + headerSize + (last ? HASH_SIZE : 0);
  if (buf.length < dataAt) return 'truncated';
  const data = buf.subarray(dataAt);
  if (offset + data.length > total) return 'data beyond the end of the transfer';
  return {
    session: buf.toString('hex', 8, 16),
    transfer,
    seq,
    count,
    total,
    offset,
    header: first ? buf.subarray(FIXED_SIZE, FIXED_SIZE + headerSize) : undefined,
    hash: last ? buf.subarray(FIXED_SIZE + headerSize, dataAt) : undefined,
    data,
  };
}

/** Events the receiving thread posts to the receiver node. */
export type LinkEvent =
  | {
      /** The UDP socket is bound to `port`. */
      type: 'listening';
      port: number;
      /** The socket's receive buffer size the kernel granted. */
      recvBufferSize: number;
    }
  | {
      /** A transfer arrived whole and verified; the node now owns its data. */
      type: 'complete';
      /** The transfer header (a blather telegram). */
      header: Uint8Array;
      /** Data bytes. */
      size: number;
      /** The data, for small transfers kept in memory. */
      bytes: Uint8Array | undefined;
      /** The spool file holding the data, for larger transfers. */
      path: string | undefined;
    }
  | {
      /** `transfers` transfers will never complete; `reason` says why. */
      type: 'lost';
      transfers: number;
      reason: string;
    }
  | {
      /** A transfer arrived whole but failed its sha-256 check. */
      type: 'corrupt';
      reason: string;
    }
  | {
      /** A datagram was malformed, a duplicate or late. */
      type: 'ignored';
      reason: string;
    };

/** What the receiver node passes to the receiving thread. */
export interface LinkReceiverConfig {
  /** Address to bind the UDP socket to. */
  host: string;
  /** Folder for spool files. */
  spoolDir: string;
  /** Transfers of at most this many bytes stay in memory. */
  memoryLimit: number;
  /** A transfer that gets no datagram for this long is lost. */
  timeoutMs: number;
  /** Requested UDP receive buffer size. */
  recvBufferSize: number;
}
