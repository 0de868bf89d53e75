/**
 * What the receiving end of the link makes of a frame, without sockets: the
 * frames a transfer needs, the tag checked before anything else, then every
 * field checked against the others and the limits.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  dataRoom,
  FIXED_SIZE,
  FrameType,
  frameCount,
  openFrame,
  readNumbers,
  TAG_SIZE,
} from '../../src/sim/link/format.ts';
import { linkSettings, MIN_FRAME_SIZE, sealsFrames } from '../../src/sim/link/settings.ts';
import { waitFor } from '../helpers/deadline.ts';
import { controlFrame, dataFrames, resealed, sealedFrame, testLink } from './link-frames.ts';
import { contentOf, reassemblersForFile } from './reassembler.ts';

const header = Buffer.from('Msg\nXferId x\n\n');

describe('frame format', () => {
  it('uses as few frames as fit, and fills each one', () => {
    for (const size of [1024, 64000]) {
      for (const h of [0, 100, 500]) {
        for (const total of [0, 1, size - FIXED_SIZE - TAG_SIZE - h, size, 10 * size + 3]) {
          const count = frameCount(total, h, size);
          let room = 0;
          for (let seq = 0; seq < count; seq++) room += dataRoom(seq, h, size);
          assert.ok(room >= total, `room for ${total} bytes`);
          assert.ok(count === 1 || room - total < size, 'no spare frame');
        }
      }
    }
  });

  it('round-trips the fields of an authentic frame', () => {
    const link = testLink(3000);
    const data = randomBytes(5000);
    const [first, second] = dataFrames(link, 7, header, data, 5);
    const f = openFrame(first as Buffer, link);
    assert.ok(typeof f !== 'string', String(f));
    assert.deepEqual(
      { ...f, header: f.header?.toString(), data: f.data.length },
      {
        type: FrameType.data,
        transfer: 7,
        seq: 0,
        count: 2,
        total: 5000,
        offset: 0,
        watermark: 5,
        headerSize: header.length,
        header: header.toString(),
        data: 3000 - FIXED_SIZE - TAG_SIZE - header.length,
      },
    );
    const g = openFrame(second as Buffer, link);
    assert.ok(typeof g !== 'string' && g.header === undefined && g.seq === 1);
  });

  it('rejects a frame not sealed with the link key, or of another session, before reading it', () => {
    const link = testLink();
    const [frame] = dataFrames(link, 1, header, randomBytes(100));
    const other = testLink();
    assert.equal(openFrame(frame as Buffer, { ...link, key: other.key }), 'authentication failed');
    const flipped = Buffer.from(frame as Buffer);
    flipped[FIXED_SIZE + 3] = (flipped[FIXED_SIZE + 3] as number) ^ 1;
    assert.equal(openFrame(flipped, link), 'authentication failed');
    // Forged with a huge count, but without the key: rejected by the tag, nothing allocated.
    const forged = Buffer.from(frame as Buffer);
    forged.writeUInt32BE(0xffffffff, 28);
    assert.equal(openFrame(forged, link), 'authentication failed');
    const [otherSession] = dataFrames(
      { ...link, session: other.session },
      1,
      header,
      randomBytes(9),
    );
    assert.equal(openFrame(otherSession as Buffer, link), 'another link session');
    assert.equal(openFrame(Buffer.alloc(10), link), 'bad frame size');
    assert.equal(openFrame(Buffer.alloc(link.frameSize + 1), link), 'bad frame size');
  });

  it('checks every field of an authentic frame against the others and the limits', () => {
    const link = testLink(3000);
    const [first, second] = dataFrames(link, 1, header, randomBytes(5000));
    const edit = (frame: Buffer | undefined, change: (b: Buffer) => void) =>
      openFrame(resealed(link.key, frame as Buffer, change), link);
    assert.equal(
      edit(first, (b) => b.writeUInt32BE(0xffffffff, 28)),
      'bad sequence number or count',
    );
    assert.equal(
      edit(second, (b) => b.writeUInt32BE(2, 24)),
      'bad sequence number or count',
    );
    assert.equal(
      edit(second, (b) => b.writeUInt32BE(4900, 44)),
      'data beyond the end of the transfer',
    );
    // A "negative" length: 2^64 - 100 does not even fit a safe integer.
    assert.equal(
      edit(first, (b) => b.writeBigUInt64BE(2n ** 64n - 100n, 32)),
      'a number is out of range',
    );
    assert.equal(
      openFrame(first as Buffer, { ...link, maxTransferBytes: 4999 }),
      'transfer of 5000 bytes is over the limit',
    );
    assert.equal(
      edit(second, (b) => b.writeUInt16BE(4, 6)),
      'a header outside the first frame',
    );
    assert.equal(
      edit(first, (b) => (b[5] = 3)),
      'bad flags',
    );
    assert.equal(
      edit(first, (b) => b.writeBigUInt64BE(0n, 16)),
      'transfer number 0',
    );
    assert.equal(
      edit(first, (b) => (b[4] = 9)),
      'unknown frame type 9',
    );
  });
});

describe('the size, magic and numbers of a frame', () => {
  const link = testLink(3000);

  it('takes the smallest frame (an abort) and one of the frame size, nothing outside', () => {
    const abort = controlFrame(link, FrameType.abort, 3, 1);
    assert.equal(abort.length, FIXED_SIZE + TAG_SIZE);
    assert.ok(typeof openFrame(abort, link) !== 'string');
    assert.equal(openFrame(abort.subarray(0, abort.length - 1), link), 'bad frame size');
    const [full] = dataFrames(link, 1, header, randomBytes(5000));
    assert.equal((full as Buffer).length, link.frameSize);
    assert.ok(typeof openFrame(full as Buffer, link) !== 'string');
  });

  it('refuses a frame without the DDL2 magic before checking its tag', () => {
    const [frame] = dataFrames(link, 1, header, randomBytes(100));
    const ddl1 = Buffer.from(frame as Buffer);
    ddl1[3] = 0x31;
    assert.equal(openFrame(ddl1, link), 'not a link frame');
    assert.equal(
      openFrame(
        resealed(link.key, frame as Buffer, (b) => (b[0] = 0)),
        link,
      ),
      'not a link frame',
    );
  });

  it('refuses a transfer number, offset or watermark from 2^53 on', () => {
    const [first, second] = dataFrames(link, 1, header, randomBytes(5000));
    for (const [at, frame] of [
      [16, first],
      [40, second],
      [48, first],
    ] as const) {
      const huge = resealed(link.key, frame as Buffer, (b) => b.writeBigUInt64BE(2n ** 53n, at));
      assert.equal(openFrame(huge, link), 'a number is out of range', `field at ${at}`);
    }
    const [big] = dataFrames(link, 2 ** 53 - 1, header, randomBytes(10), 2 ** 53 - 1);
    const f = openFrame(big as Buffer, link);
    assert.ok(typeof f !== 'string' && f.transfer === 2 ** 53 - 1 && f.watermark === f.transfer);
  });

  it('takes a transfer of exactly maxTransferBytes', () => {
    const [frame] = dataFrames(link, 1, header, randomBytes(5000));
    const f = openFrame(frame as Buffer, { ...link, maxTransferBytes: 5000 });
    assert.ok(typeof f !== 'string' && f.total === 5000);
  });
});

describe('the header of a transfer', () => {
  it('is at most 888 bytes: a frame of the smallest size holds it and 64 data bytes', () => {
    const link = testLink(MIN_FRAME_SIZE);
    const largest = Buffer.alloc(888, 'h');
    const [frame] = dataFrames(link, 1, largest, randomBytes(64));
    assert.equal((frame as Buffer).length, MIN_FRAME_SIZE);
    const f = openFrame(frame as Buffer, link);
    assert.ok(typeof f !== 'string', String(f));
    assert.deepEqual([f.header, f.data.length], [largest, 64]);
    const [over] = dataFrames(link, 1, Buffer.alloc(889, 'h'), randomBytes(10));
    assert.equal(openFrame(over as Buffer, link), 'bad header length');
  });

  it('may fill the first frame, but not reach beyond it', () => {
    const link = testLink(3000);
    const [empty] = dataFrames(link, 1, header, Buffer.alloc(0));
    assert.equal((empty as Buffer).length, FIXED_SIZE + header.length + TAG_SIZE);
    const f = openFrame(empty as Buffer, link);
    assert.ok(typeof f !== 'string', String(f));
    assert.deepEqual([f.header, f.data.length], [header, 0]);
    const [frame] = dataFrames(link, 1, header, randomBytes(100));
    const beyond = resealed(link.key, frame as Buffer, (b) => b.writeUInt16BE(200, 6));
    assert.equal(openFrame(beyond, link), 'bad header length');
  });
});

describe('control frames', () => {
  const link = testLink();

  it('a heartbeat carries the open transfers it counts', () => {
    const open = Buffer.alloc(16);
    open.writeBigUInt64BE(3n, 0);
    open.writeBigUInt64BE(2n ** 40n, 8);
    const beat = sealedFrame(link, { type: FrameType.heartbeat, count: 2, total: 9 }, open);
    const f = openFrame(beat, link);
    assert.ok(typeof f !== 'string', String(f));
    assert.deepEqual(readNumbers(f.data), [3, 2 ** 40]);
    assert.deepEqual([f.type, f.total, f.header], [FrameType.heartbeat, 9, undefined]);
  });

  it('are refused with more or fewer bytes than they carry, or with a header', () => {
    const eight = Buffer.alloc(8);
    for (const [what, frame] of [
      [
        'a heartbeat missing a number',
        sealedFrame(link, { type: FrameType.heartbeat, count: 2 }, eight),
      ],
      [
        'a heartbeat with a spare number',
        sealedFrame(link, { type: FrameType.heartbeat, count: 0 }, eight),
      ],
      ['an abort with a body', sealedFrame(link, { type: FrameType.abort, count: 1 }, eight)],
      [
        'a heartbeat with a header',
        sealedFrame(link, { type: FrameType.heartbeat, headerSize: 4 }),
      ],
      ['an abort with a header', sealedFrame(link, { type: FrameType.abort, headerSize: 1 })],
    ] as const) {
      assert.equal(openFrame(frame, link), 'a control frame of the wrong size', what);
    }
  });
});

describe('unsealed frames (the stream transport without damage faults)', () => {
  const spool = reassemblersForFile();

  it('make a transfer for a receiving end without a key, and a sealed one rejects them', async () => {
    const link = testLink();
    const unsealed = { ...link, key: undefined };
    const data = randomBytes(5000);
    const open = spool.start({ link, sealed: false });
    for (const f of dataFrames(unsealed, 1, header, data)) open.r.accept(f);
    await waitFor('the unsealed transfer', () => open.events.length === 1);
    assert.deepEqual(await contentOf(open.events[0]), data);
    const sealed = spool.start({ link });
    for (const f of dataFrames(unsealed, 1, header, data)) sealed.r.accept(f);
    assert.deepEqual(sealed.r.takeCounts()?.rejected, 3);
    assert.equal(sealed.events.length, 0);
  });

  it('are sealed over UDP, and on the stream transport only when a fault may damage them', () => {
    const sealed = (link: Parameters<typeof linkSettings>[0]) => sealsFrames(linkSettings(link));
    assert.equal(sealed(undefined), false, 'the default link: frames only the two threads share');
    assert.equal(sealed({ transport: 'stream', faults: { seed: 1, loss: 0.5 } }), false);
    assert.equal(sealed({ transport: 'stream', faults: { seed: 1, corrupt: 0.01 } }), true);
    assert.equal(sealed({ transport: 'stream', fault: () => undefined }), true);
    assert.equal(sealed({ transport: 'udp' }), true);
  });

  it('carry zeros for a tag, and are taken by a receiving end without a key only', () => {
    const link = testLink();
    const unsealed = { ...link, key: undefined };
    const [frame] = dataFrames(unsealed, 1, header, Buffer.from('data'));
    assert.ok(frame);
    assert.deepEqual(frame.subarray(frame.length - TAG_SIZE), Buffer.alloc(TAG_SIZE));
    const f = openFrame(frame, unsealed);
    assert.ok(typeof f !== 'string', `opened: ${String(f)}`);
    assert.deepEqual([f.transfer, f.data.toString()], [1, 'data']);
    assert.equal(openFrame(frame, link), 'authentication failed');
    // Every other check still applies.
    assert.equal(
      openFrame(frame, { ...unsealed, session: testLink().session }),
      'another link session',
    );
  });
});
