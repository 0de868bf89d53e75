/**
 * The frame format of the simulated one-way link, shared by its sending end
 * (sender.ts) and its receiving end (reassembly.ts). See docs/simulator.md,
 * "The one-way link".
 *
 * A transfer is a header (a blather telegram whose topic names the kind of
 * transfer, such as `Msg`) plus a run of data bytes. It travels as `count`
 * data frames. Besides data frames there are heartbeats and aborts. Every
 * frame is:
 *
 * ```
 * offset size field
 *  0      4   magic "DDL2" (format version 2)
 *  4      1   type: 1 = data, 2 = heartbeat, 3 = abort
 *  5      1   flags (data): 1 = FIRST (the transfer header follows), 2 = LAST
 *  6      2   header length H (0 unless FIRST)
 *  8      8   link session: random, chosen when the sending end starts
 * 16      8   transfer number (data, abort), heartbeat number (heartbeat)
 * 24      4   sequence number of this data frame, 0 .. count-1
 * 28      4   count: data frames in the transfer (heartbeat: open transfers listed)
 * 32      8   total: data bytes in the transfer (heartbeat: the limit, see below)
 * 40      8   offset of this frame's data within the transfer
 * 48      8   watermark: every transfer numbered below it has been sent whole
 * 56      H   transfer header (FIRST only)
 *  .      -   data (heartbeat: the open transfers, u64 each: every transfer
 *             below the limit that is not listed has left whole)
 * end-16 16   tag: AES-256-GCM (GMAC) over everything before it
 * ```
 *
 * All integers are big-endian. The tag's key is random per simulator and
 * known only to its two ends, and its nonce is (type, transfer, seq), which
 * names exactly one content: a frame that this simulator's sending end did
 * not make fails the check, whoever sent it.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';

/** Bytes of the fixed part that starts every frame. */
export const FIXED_SIZE = 56;
/** Bytes of the authentication tag that ends every frame. */
export const TAG_SIZE = 16;
/** Bytes of the link key (AES-256). */
export const KEY_SIZE = 32;
/** Bytes of the link session id. */
export const SESSION_SIZE = 8;
/** `DDL2`. */
const MAGIC = 0x44444c32;
const FLAG_FIRST = 1;
const FLAG_LAST = 2;
/** Largest transfer header: the first frame of the smallest frame size must hold it. */
export const MAX_HEADER_SIZE = 1024 - FIXED_SIZE - TAG_SIZE - 64;

/** Frame types. */
export const FrameType = { data: 1, heartbeat: 2, abort: 3 } as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

const TWO_32 = 2 ** 32;

/** The fixed fields of a frame. */
export interface FrameFields {
  type: FrameType;
  /** Link session, 8 bytes. */
  session: Buffer;
  /** Transfer number (data, abort) or heartbeat number. */
  transfer: number;
  seq: number;
  count: number;
  total: number;
  offset: number;
  watermark: number;
  /** Length of the transfer header that follows (FIRST data frames only). */
  headerSize: number;
}

/** A frame that passed its authentication check. Pieces are views into the frame. */
export interface Frame extends Omit<FrameFields, 'session'> {
  /** The transfer header (first data frame only). */
  header: Buffer | undefined;
  /** This frame's data. */
  data: Buffer;
}

/** Data bytes of a transfer's frames: the first one also holds the header. */
function payloadRoom(frameSize: number): number {
  return frameSize - FIXED_SIZE - TAG_SIZE;
}

/** Data frames needed for `total` data bytes with a header of `headerSize` bytes. */
export function frameCount(total: number, headerSize: number, frameSize: number): number {
  return Math.max(1, Math.ceil((total + headerSize) / payloadRoom(frameSize)));
}

/** Data bytes frame `seq` can hold. */
export function dataRoom(seq: number, headerSize: number, frameSize: number): number {
  return payloadRoom(frameSize) - (seq === 0 ? headerSize : 0);
}

function writeU64(buf: Buffer, value: number, at: number): void {
  buf.writeUInt32BE(Math.floor(value / TWO_32), at);
  buf.writeUInt32BE(value >>> 0, at + 4);
}

function readU64(buf: Buffer, at: number): number | undefined {
  const high = buf.readUInt32BE(at);
  // Larger values are not safe integers; no genuine frame carries one.
  return high >= 2 ** 21 ? undefined : high * TWO_32 + buf.readUInt32BE(at + 4);
}

/** Writes numbers (u64 each) at `at`: the open transfers a heartbeat lists. */
export function writeNumbers(buf: Buffer, at: number, numbers: readonly number[]): void {
  for (const [i, n] of numbers.entries()) writeU64(buf, n, at + i * 8);
}

/** Reads the numbers {@link writeNumbers} wrote; undefined if one is out of range. */
export function readNumbers(data: Buffer): number[] | undefined {
  const numbers: number[] = [];
  for (let at = 0; at + 8 <= data.length; at += 8) {
    const n = readU64(data, at);
    if (n === undefined) return undefined;
    numbers.push(n);
  }
  return numbers;
}

/** Writes the fixed part of a frame at `buf[0..FIXED_SIZE)`. */
export function writeFixed(buf: Buffer, f: FrameFields): void {
  buf.writeUInt32BE(MAGIC, 0);
  buf[4] = f.type;
  buf[5] =
    f.type === FrameType.data
      ? (f.seq === 0 ? FLAG_FIRST : 0) | (f.seq === f.count - 1 ? FLAG_LAST : 0)
      : 0;
  buf.writeUInt16BE(f.headerSize, 6);
  f.session.copy(buf, 8, 0, SESSION_SIZE);
  writeU64(buf, f.transfer, 16);
  buf.writeUInt32BE(f.seq, 24);
  buf.writeUInt32BE(f.count, 28);
  writeU64(buf, f.total, 32);
  writeU64(buf, f.offset, 40);
  writeU64(buf, f.watermark, 48);
}

/** The nonce of a frame: its type, transfer number and sequence number. */
function nonce(frame: Buffer): Buffer {
  const iv = Buffer.alloc(12);
  iv[0] = frame[4] as number;
  frame.copy(iv, 1, 17, 24); // the transfer number's low 7 bytes
  frame.copy(iv, 8, 24, 28);
  return iv;
}

/**
 * Computes the tag of a frame whose last {@link TAG_SIZE} bytes are for it,
 * and writes it there; zeros there on a link whose frames are not sealed
 * (no key: see `sealsFrames`).
 */
export function sealFrame(key: Buffer | undefined, frame: Buffer): void {
  const end = frame.length - TAG_SIZE;
  if (key === undefined) {
    frame.fill(0, end);
    return;
  }
  const gmac = createCipheriv('aes-256-gcm', key, nonce(frame));
  gmac.setAAD(frame.subarray(0, end));
  gmac.final();
  gmac.getAuthTag().copy(frame, end);
}

function authentic(key: Buffer, frame: Buffer): boolean {
  const end = frame.length - TAG_SIZE;
  const gmac = createDecipheriv('aes-256-gcm', key, nonce(frame));
  gmac.setAAD(frame.subarray(0, end));
  gmac.setAuthTag(frame.subarray(end));
  try {
    gmac.final();
  } catch {
    return false;
  }
  return true;
}

/** The transfer number a frame claims, before it is checked (to attribute damage). */
export function claimedTransfer(frame: Buffer): number | undefined {
  if (frame.length < FIXED_SIZE || frame.readUInt32BE(0) !== MAGIC) return undefined;
  return frame[4] === FrameType.data ? readU64(frame, 16) : undefined;
}

/** What a frame must match: this link's key and session, and its limits. */
export interface FrameCheck {
  /** The key frames are sealed with; undefined when they are not (see `sealsFrames`). */
  key: Buffer | undefined;
  session: Buffer;
  frameSize: number;
  maxTransferBytes: number;
}

/**
 * Checks a frame and decodes it, or returns why it is rejected. The tag (on
 * a sealed link) is checked first; nothing is decoded, allocated or opened for a frame that
 * fails it. Then every field is checked against the others and the limits.
 */
export function openFrame(buf: Buffer, check: FrameCheck): Frame | string {
  if (buf.length < FIXED_SIZE + TAG_SIZE || buf.length > check.frameSize) return 'bad frame size';
  if (buf.readUInt32BE(0) !== MAGIC) return 'not a link frame';
  if (check.key !== undefined && !authentic(check.key, buf)) return 'authentication failed';
  if (!buf.subarray(8, 16).equals(check.session)) return 'another link session';
  const type = buf[4] as number;
  const transfer = readU64(buf, 16);
  const total = readU64(buf, 32);
  const offset = readU64(buf, 40);
  const watermark = readU64(buf, 48);
  if (
    transfer === undefined ||
    total === undefined ||
    offset === undefined ||
    watermark === undefined
  ) {
    return 'a number is out of range';
  }
  const seq = buf.readUInt32BE(24);
  const count = buf.readUInt32BE(28);
  const headerSize = buf.readUInt16BE(6);
  const end = buf.length - TAG_SIZE;
  const fields = { transfer, seq, count, total, offset, watermark, headerSize };
  if (type === FrameType.heartbeat || type === FrameType.abort) {
    // A heartbeat lists `count` open transfers; an abort carries nothing.
    const body = type === FrameType.heartbeat ? count * 8 : 0;
    if (headerSize !== 0 || end !== FIXED_SIZE + body) return 'a control frame of the wrong size';
    return { type, ...fields, header: undefined, data: buf.subarray(FIXED_SIZE, end) };
  }
  if (type !== FrameType.data) return `unknown frame type ${type}`;
  if (transfer < 1) return 'transfer number 0';
  if (total > check.maxTransferBytes) return `transfer of ${total} bytes is over the limit`;
  if (seq >= count || count > frameCount(total, MAX_HEADER_SIZE, check.frameSize)) {
    return 'bad sequence number or count';
  }
  const flags = buf[5] as number;
  const expected = (seq === 0 ? FLAG_FIRST : 0) | (seq === count - 1 ? FLAG_LAST : 0);
  if (flags !== expected) return 'bad flags';
  if (seq !== 0 && headerSize !== 0) return 'a header outside the first frame';
  if (headerSize > MAX_HEADER_SIZE || FIXED_SIZE + headerSize > end) return 'bad header length';
  const data = buf.subarray(FIXED_SIZE + headerSize, end);
  if (offset + data.length > total) return 'data beyond the end of the transfer';
  const header = seq === 0 ? buf.subarray(FIXED_SIZE, FIXED_SIZE + headerSize) : undefined;
  return { type: FrameType.data, ...fields, header, data };
}

/** Events the receiving thread posts to the receiver node. */
export type LinkEvent =
  | {
      /** Ready: `port` is the UDP port, or 0 for the stream transport. */
      type: 'listening';
      port: number;
      /** The receive buffer size the kernel granted (UDP), else 0. */
      recvBufferSize: number;
    }
  | {
      /** A transfer arrived whole and authentic; the node now owns its data. */
      type: 'complete';
      transfer: number;
      header: Uint8Array;
      size: number;
      /** The data, for transfers kept in memory: its slabs, in order. */
      chunks: Uint8Array[] | undefined;
      /** Whether `bytes` was lent from the memory budget (`released` gives it back). */
      budgeted: boolean;
      /** The spool file holding the data, for larger transfers. */
      path: string | undefined;
      /** For the end of a stream (`StrmEnd`): the sha-256 (hex) of its segments (see stream-digests.ts). */
      digest: string | undefined;
    }
  | {
      /** A transfer will never complete. */
      type: 'lost';
      transfer: number;
      /** `corrupt` when one of its frames failed authentication. */
      kind: 'lost' | 'corrupt' | 'aborted';
      reason: string;
    }
  | {
      /** Frames ignored (copies, late) and rejected (forged, damaged) since the last count. */
      type: 'frames';
      ignored: number;
      rejected: number;
      /** Why the last rejected frame was rejected. */
      lastRejection: string | undefined;
    }
  | {
      /** The link went down (heartbeats missed) or came back. */
      type: 'link';
      state: 'up' | 'down';
      reason: string;
    };

/**
 * What the node posts to the receiving thread: `taken` once it has routed
 * `count` transfers, `released` once the memory of a transfer is free again
 * (`bytes` of the budget, when it was lent from it; `buffers` to fill again,
 * when nothing refers to them any more).
 */
export type NodeMessage =
  | 'close'
  | { type: 'taken'; count: number }
  | { type: 'released'; bytes: number; buffers: ArrayBuffer[] };

/** What the receiver node passes to the receiving thread. */
export interface LinkReceiverConfig {
  transport: 'stream' | 'udp';
  /** Address to bind the UDP socket to. */
  host: string;
  /** Folder for spool files. */
  spoolDir: string;
  /** Transfers of at most this many bytes stay in memory. */
  memoryLimit: number;
  /**
   * Larger transfers also stay in memory while their bytes, together with
   * those of the others kept so (until the node releases them), fit this.
   */
  memoryBudget: number;
  /** Requested UDP receive buffer size. */
  recvBufferSize: number;
  /** The link key (undefined when frames are not sealed) and session, shared with the sending end only. */
  key: Uint8Array | undefined;
  session: Uint8Array;
  frameSize: number;
  maxTransferBytes: number;
  heartbeatMs: number;
  heartbeatMisses: number;
  /**
   * Whether missed heartbeats are reported (UDP, or down windows): on the
   * lossless transport a busy sending thread would only look like a link
   * that went down.
   */
  watchLink: boolean;
}
