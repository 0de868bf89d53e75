/**
 * The link's frame layout, byte by byte as docs/simulator.md gives it: the
 * fixed fields, the flags, the u64 numbers (up to the largest safe
 * integer) and the transfer number a frame claims before it is checked.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  claimedTransfer,
  FIXED_SIZE,
  FrameType,
  readNumbers,
  writeFixed,
  writeNumbers,
} from '../../src/sim/link/format.ts';
import { dataFrames, sealedFrame, testLink } from './link-frames.ts';

const session = Buffer.from('0123456789abcdef', 'hex');

/** The fixed part of a frame of `type` with the given sequence number and count. */
function fixed(type: FrameType, seq: number, count: number): Buffer {
  const b = Buffer.alloc(FIXED_SIZE);
  const fields = { type, session, transfer: 9, total: 0, offset: 0, watermark: 0, headerSize: 0 };
  writeFixed(b, { ...fields, seq, count });
  return b;
}

describe('fixed fields', () => {
  it('are written where the documented layout puts them, big-endian', () => {
    const b = Buffer.alloc(FIXED_SIZE);
    writeFixed(b, {
      type: FrameType.data,
      session,
      transfer: 2 ** 40 + 3,
      seq: 1,
      count: 3,
      total: 2 ** 33 + 1,
      offset: 70_000,
      watermark: 2 ** 32,
      headerSize: 0,
    });
    assert.equal(b.toString('latin1', 0, 4), 'DDL2');
    assert.equal(b[4], FrameType.data);
    assert.equal(b[5], 0, 'neither first nor last');
    assert.equal(b.readUInt16BE(6), 0);
    assert.deepEqual(b.subarray(8, 16), session);
    assert.equal(b.readBigUInt64BE(16), 2n ** 40n + 3n);
    assert.equal(b.readUInt32BE(24), 1);
    assert.equal(b.readUInt32BE(28), 3);
    assert.equal(b.readBigUInt64BE(32), 2n ** 33n + 1n);
    assert.equal(b.readBigUInt64BE(40), 70_000n);
    assert.equal(b.readBigUInt64BE(48), 2n ** 32n);
  });

  it('flag the first and the last data frame, and no control frame', () => {
    const FIRST = 1;
    const LAST = 2;
    assert.equal(fixed(FrameType.data, 0, 1)[5], FIRST | LAST);
    assert.equal(fixed(FrameType.data, 0, 2)[5], FIRST);
    assert.equal(fixed(FrameType.data, 1, 2)[5], LAST);
    assert.equal(fixed(FrameType.data, 1, 3)[5], 0);
    assert.equal(fixed(FrameType.heartbeat, 0, 1)[5], 0);
    assert.equal(fixed(FrameType.heartbeat, 0, 0)[5], 0);
    assert.equal(fixed(FrameType.abort, 0, 0)[5], 0);
  });
});

describe('the numbers a heartbeat lists', () => {
  it('are u64 each, one after another from where they start', () => {
    const numbers = [0, 1, 2 ** 32 + 5, 2 ** 53 - 1];
    const b = Buffer.alloc(4 + numbers.length * 8, 0xee);
    writeNumbers(b, 4, numbers);
    assert.equal(b.readUInt32BE(0), 0xeeeeeeee, 'nothing written before them');
    for (const [i, n] of numbers.entries()) assert.equal(b.readBigUInt64BE(4 + i * 8), BigInt(n));
    assert.deepEqual(readNumbers(b.subarray(4)), numbers);
  });

  it('read back as none from no bytes, and leave a partial one out', () => {
    assert.deepEqual(readNumbers(Buffer.alloc(0)), []);
    const b = Buffer.alloc(12);
    b.writeBigUInt64BE(7n, 0);
    assert.deepEqual(readNumbers(b), [7]);
  });

  it('are refused from 2^53 on: no genuine frame carries one', () => {
    const b = Buffer.alloc(16);
    b.writeBigUInt64BE(3n, 0);
    for (const big of [2n ** 53n, 2n ** 53n + 1n, 2n ** 64n - 1n]) {
      b.writeBigUInt64BE(big, 8);
      assert.equal(readNumbers(b), undefined, String(big));
    }
  });
});

describe('claimedTransfer', () => {
  const link = testLink();

  it('reads the transfer number of a data frame, authentic or not', () => {
    const [frame] = dataFrames(link, 2 ** 40 + 1, Buffer.from('Msg\n\n'), Buffer.from('x'));
    assert.equal(claimedTransfer(frame as Buffer), 2 ** 40 + 1);
    const damaged = Buffer.from(frame as Buffer);
    damaged[damaged.length - 1] = (damaged[damaged.length - 1] as number) ^ 1;
    assert.equal(claimedTransfer(damaged), 2 ** 40 + 1);
    assert.equal(claimedTransfer((frame as Buffer).subarray(0, FIXED_SIZE)), 2 ** 40 + 1);
  });

  it('claims none for a control frame, a short one, one without the magic or out of range', () => {
    const heartbeat = sealedFrame(link, { type: FrameType.heartbeat, transfer: 5 });
    const abort = sealedFrame(link, { type: FrameType.abort, transfer: 5 });
    assert.equal(claimedTransfer(heartbeat), undefined);
    assert.equal(claimedTransfer(abort), undefined);
    const [frame] = dataFrames(link, 5, Buffer.from('Msg\n\n'), Buffer.from('x'));
    const data = frame as Buffer;
    assert.equal(claimedTransfer(data.subarray(0, FIXED_SIZE - 1)), undefined);
    assert.equal(claimedTransfer(data.subarray(0, 10)), undefined);
    const other = Buffer.from(data);
    other[3] = 0x33; // DDL3
    assert.equal(claimedTransfer(other), undefined);
    const huge = Buffer.from(data);
    huge.writeBigUInt64BE(2n ** 53n, 16);
    assert.equal(claimedTransfer(huge), undefined);
  });
});
