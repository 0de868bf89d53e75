/** Builds link frames the way the sending end does, independently of it, for tests. */
import { randomBytes } from 'node:crypto';
import {
  dataRoom,
  FIXED_SIZE,
  type FrameCheck,
  FrameType,
  frameCount,
  sealFrame,
  TAG_SIZE,
  writeFixed,
  writeNumbers,
} from '../../src/sim/link/format.ts';

/** A link's secrets and limits, as both its ends know them. */
export function testLink(frameSize = 2000): FrameCheck {
  return { key: randomBytes(32), session: randomBytes(8), frameSize, maxTransferBytes: 2 ** 40 };
}

/** The sealed data frames of a transfer. `watermark` defaults to the transfer's own number. */
export function dataFrames(
  link: FrameCheck,
  transfer: number,
  header: Buffer,
  data: Buffer,
  watermark = transfer,
): Buffer[] {
  const count = frameCount(data.length, header.length, link.frameSize);
  const out: Buffer[] = [];
  let offset = 0;
  for (let seq = 0; seq < count; seq++) {
    const headerSize = seq === 0 ? header.length : 0;
    const n = Math.min(dataRoom(seq, header.length, link.frameSize), data.length - offset);
    const frame = Buffer.alloc(FIXED_SIZE + headerSize + n + TAG_SIZE);
    writeFixed(frame, {
      type: FrameType.data,
      session: link.session,
      transfer,
      seq,
      count,
      total: data.length,
      offset,
      watermark,
      headerSize,
    });
    header.copy(frame, FIXED_SIZE, 0, headerSize);
    data.copy(frame, FIXED_SIZE + headerSize, offset, offset + n);
    sealFrame(link.key, frame);
    offset += n;
    out.push(frame);
  }
  return out;
}

/** A sealed heartbeat (or abort) frame. */
export function controlFrame(
  link: FrameCheck,
  type: FrameType,
  transfer: number,
  watermark: number,
): Buffer {
  const frame = Buffer.alloc(FIXED_SIZE + TAG_SIZE);
  writeFixed(frame, {
    type,
    session: link.session,
    transfer,
    seq: 0,
    count: 0,
    total: 0,
    offset: 0,
    watermark,
    headerSize: 0,
  });
  sealFrame(link.key, frame);
  return frame;
}

/** A sealed heartbeat listing the `open` transfers; every other one below `limit` has left whole. */
export function heartbeatFrame(
  link: FrameCheck,
  number: number,
  watermark: number,
  limit: number,
  open: number[],
): Buffer {
  const frame = Buffer.alloc(FIXED_SIZE + open.length * 8 + TAG_SIZE);
  writeFixed(frame, {
    type: FrameType.heartbeat,
    session: link.session,
    transfer: number,
    seq: 0,
    count: open.length,
    total: limit,
    offset: 0,
    watermark,
    headerSize: 0,
  });
  writeNumbers(frame, FIXED_SIZE, open);
  sealFrame(link.key, frame);
  return frame;
}

/** Rewrites fields of a frame and seals it again with `key` (a forger who knows the key). */
export function resealed(key: Buffer, frame: Buffer, edit: (b: Buffer) => void): Buffer {
  const b = Buffer.from(frame);
  edit(b);
  sealFrame(key, b);
  return b;
}
