/** Builds link frames the way the sending end does, independently of it, for tests. */
import { randomBytes } from 'node:crypto';
import {
  dataRoom,
  FIXED_SIZE,
  type FrameCheck,
  type FrameFields,
  FrameType,
  frameCount,
  sealFrame,
  TAG_SIZE,
  writeFixed,
  writeNumbers,
} from '../../src/sim/link/format.ts';

/** A sealed link's secrets and limits, as both its ends know them. */
export type SealedLink = FrameCheck & { key: Buffer };

/** A sealed link's secrets and limits, as both its ends know them. */
export function testLink(frameSize = 2000): SealedLink {
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

/**
 * A sealed frame of `body` after the fixed part; the fields not given are 0
 * (session: the link's).
 */
export function sealedFrame(
  link: FrameCheck,
  fields: Partial<FrameFields> & Pick<FrameFields, 'type'>,
  body: Buffer = Buffer.alloc(0),
): Buffer {
  const frame = Buffer.alloc(FIXED_SIZE + body.length + TAG_SIZE);
  writeFixed(frame, {
    session: link.session,
    transfer: 0,
    seq: 0,
    count: 0,
    total: 0,
    offset: 0,
    watermark: 0,
    headerSize: 0,
    ...fields,
  });
  body.copy(frame, FIXED_SIZE);
  sealFrame(link.key, frame);
  return frame;
}

/** A sealed heartbeat (or abort) frame. */
export function controlFrame(
  link: FrameCheck,
  type: FrameType,
  transfer: number,
  watermark: number,
): Buffer {
  return sealedFrame(link, { type, transfer, watermark });
}

/** A sealed heartbeat listing the `open` transfers; every other one below `limit` has left whole. */
export function heartbeatFrame(
  link: FrameCheck,
  number: number,
  watermark: number,
  limit: number,
  open: number[],
): Buffer {
  const body = Buffer.alloc(open.length * 8);
  writeNumbers(body, 0, open);
  return sealedFrame(
    link,
    { type: FrameType.heartbeat, transfer: number, count: open.length, total: limit, watermark },
    body,
  );
}

/** Rewrites fields of a frame and seals it again with `key` (a forger who knows the key). */
export function resealed(key: Buffer, frame: Buffer, edit: (b: Buffer) => void): Buffer {
  const b = Buffer.from(frame);
  edit(b);
  sealFrame(key, b);
  return b;
}
