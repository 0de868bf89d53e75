/**
 * Reassembly of the link's transfers, without sockets: in any order, loss
 * decided by the sender's watermark and heartbeats, damaged transfers,
 * aborts, and clean-up.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { describe, it } from 'node:test';
import {
  FIXED_SIZE,
  FrameType,
  type LinkEvent,
  sealFrame,
  TAG_SIZE,
} from '../../src/sim/link/format.ts';
import { waitFor, waitForAsync } from '../helpers/deadline.ts';
import { controlFrame, dataFrames, heartbeatFrame, testLink } from './link-frames.ts';
import { contentOf, lostOf, reassemblersForFile } from './reassembler.ts';

const header = Buffer.from('Msg\nXferId x\n\n');
const spool = reassemblersForFile();
const reassembler = (memoryLimit: number) => spool.start({ memoryLimit });

describe('reassembly', () => {
  for (const [where, limit] of [
    ['memory', 1 << 20],
    ['a spool file', 0],
  ] as const) {
    it(`puts frames in order, in any arrival order, and ignores copies (${where})`, async () => {
      const { r, events, link } = reassembler(limit);
      const data = randomBytes(20_000);
      const frames = dataFrames(link, 1, header, data);
      const shuffled = [...frames].reverse();
      r.accept(shuffled[3] as Buffer);
      for (const f of shuffled) r.accept(f);
      r.accept(frames[0] as Buffer);
      await waitFor('completion', () => events.some((e) => e.type === 'complete'));
      assert.deepEqual(r.takeCounts(), { ignored: 2, rejected: 0, lastRejection: undefined });
      const complete = events.find((e) => e.type === 'complete');
      assert.deepEqual(await contentOf(complete), data);
      if (complete?.type === 'complete') assert.deepEqual(Buffer.from(complete.header), header);
      await r.close();
    });
  }

  it('declares a transfer lost once the watermark passes it, and removes its file', async () => {
    const { r, events, link } = reassembler(0);
    const frames = dataFrames(link, 1, header, randomBytes(10_000));
    for (const f of frames.filter((_, i) => i !== 2)) r.accept(f);
    assert.deepEqual(events, [], 'not lost while the sender may still send it');
    r.accept(controlFrame(link, FrameType.heartbeat, 1, 2));
    assert.deepEqual(events, [
      { type: 'lost', transfer: 1, kind: 'lost', reason: '1 of its 6 frames missing' },
    ]);
    await r.close();
    assert.deepEqual(await readdir(spool.dir), []);
  });

  it('reports transfers of which nothing arrived, and damaged ones as corrupt', async () => {
    const { r, events, link } = reassembler(0);
    for (const f of dataFrames(link, 1, header, randomBytes(10))) r.accept(f);
    const damaged = dataFrames(link, 4, header, randomBytes(5000), 2);
    const last = damaged[damaged.length - 1] as Buffer;
    last[FIXED_SIZE] = (last[FIXED_SIZE] as number) ^ 1;
    for (const f of damaged) r.accept(f);
    r.accept(controlFrame(link, FrameType.heartbeat, 1, 5));
    await waitFor('the verdicts', () => events.length === 4);
    await contentOf(events.find((e) => e.type === 'complete'));
    assert.deepEqual(
      events.filter((e) => e.type !== 'complete'),
      [
        { type: 'lost', transfer: 2, kind: 'lost', reason: 'none of its frames arrived' },
        { type: 'lost', transfer: 3, kind: 'lost', reason: 'none of its frames arrived' },
        {
          type: 'lost',
          transfer: 4,
          kind: 'corrupt',
          reason: '1 of its 3 frames missing, and a frame of it failed authentication',
        },
      ],
    );
    assert.equal(r.takeCounts()?.rejected, 1);
    await r.close();
    assert.deepEqual(await readdir(spool.dir), []);
  });

  it('decides about the transfers after a stalled one from the heartbeats, and about it once it left', async () => {
    const { r, events, link } = reassembler(1 << 20);
    const stalled = dataFrames(link, 1, header, randomBytes(10_000));
    r.accept(stalled[0] as Buffer); // transfer 1: still uploading
    // Transfer 2: nothing arrived. Transfer 3: whole. Transfer 4: not listed, but above a cut-short list.
    for (const f of dataFrames(link, 3, header, randomBytes(10), 1)) r.accept(f);
    r.accept(heartbeatFrame(link, 1, 1, 4, [1]));
    await waitFor('transfer 3', () => events.some((e) => e.type === 'complete'));
    assert.deepEqual(
      events.filter((e) => e.type === 'lost'),
      [{ type: 'lost', transfer: 2, kind: 'lost', reason: 'none of its frames arrived' }],
    );
    r.accept(heartbeatFrame(link, 2, 1, 2, [1])); // a cut-short list: says nothing about 2 and above
    assert.equal(events.filter((e) => e.type === 'lost').length, 1);
    r.accept(heartbeatFrame(link, 3, 5, 5, [])); // transfer 1 has left, with frames missing here
    assert.deepEqual(
      events
        .filter((e) => e.type === 'lost')
        .map((e) => e.type === 'lost' && [e.transfer, e.reason]),
      [
        [2, 'none of its frames arrived'],
        [1, '5 of its 6 frames missing'],
        [4, 'none of its frames arrived'],
      ],
    );
    await r.close();
  });

  it('discards an aborted transfer, and ignores its late frames', async () => {
    const { r, events, link } = reassembler(0);
    const frames = dataFrames(link, 1, header, randomBytes(10_000));
    r.accept(frames[0] as Buffer);
    r.accept(controlFrame(link, FrameType.abort, 1, 1));
    r.accept(frames[1] as Buffer);
    assert.deepEqual(events, [
      {
        type: 'lost',
        transfer: 1,
        kind: 'aborted',
        reason: 'its upload failed at the sender node',
      },
    ]);
    await r.close();
    assert.deepEqual(await readdir(spool.dir), []);
  });

  it('posts completed transfers in the order they completed, spooled or not', async () => {
    const { r, events, link } = reassembler(1000);
    const big = randomBytes(200_000);
    for (const f of dataFrames(link, 1, Buffer.from('Msg\nN 1\n\n'), big)) r.accept(f);
    for (const f of dataFrames(link, 2, Buffer.from('Msg\nN 2\n\n'), Buffer.from('small')))
      r.accept(f);
    await waitFor('both', () => events.length === 2);
    assert.deepEqual(await contentOf(events[0]), big);
    assert.deepEqual(await contentOf(events[1]), Buffer.from('small'));
    await r.close();
  });

  it('removes the files of unfinished transfers on close', async () => {
    const { r, events, link } = reassembler(0);
    r.accept(dataFrames(link, 1, header, randomBytes(10_000))[0] as Buffer);
    await waitForAsync('the spool file', async () => (await readdir(spool.dir)).length === 1);
    await r.close();
    assert.deepEqual(events, []);
    assert.deepEqual(await readdir(spool.dir), []);
  });
});

describe('frames that do not fit their transfer', () => {
  const link = testLink(3000);
  const data = randomBytes(5000);

  it('counts nothing until a frame is ignored or rejected, and starts again after each count', () => {
    const { r } = spool.start({ link });
    assert.equal(r.takeCounts(), undefined);
    const [first] = dataFrames(link, 1, header, data);
    r.accept(first as Buffer);
    assert.equal(r.takeCounts(), undefined);
    r.accept(first as Buffer);
    assert.deepEqual(r.takeCounts(), { ignored: 1, rejected: 0, lastRejection: undefined });
    assert.equal(r.takeCounts(), undefined);
  });

  it("are rejected when their count or total is not their transfer's", async () => {
    const { r, events } = spool.start({ link });
    const [first, second] = dataFrames(link, 1, header, data);
    r.accept(first as Buffer);
    const longer = dataFrames(link, 1, header, randomBytes(5100));
    const moreFrames = dataFrames(link, 1, Buffer.alloc(900, 'h'), data);
    assert.deepEqual([longer.length, moreFrames.length], [2, 3]);
    r.accept(longer[1] as Buffer);
    r.accept(moreFrames[1] as Buffer);
    r.accept(second as Buffer);
    await waitFor('transfer 1', () => events.length === 1);
    assert.deepEqual(await contentOf(events[0]), data);
    assert.deepEqual(r.takeCounts(), {
      ignored: 0,
      rejected: 2,
      lastRejection: 'frame does not match transfer 1',
    });
  });

  /** Waits for the one verdict, on transfer 1: corrupt, its authentic frames not adding up. */
  async function corruptVerdict(events: LinkEvent[]): Promise<void> {
    await waitFor('the verdict on transfer 1', () => events.length === 1);
    assert.deepEqual(events, [
      { type: 'lost', transfer: 1, kind: 'corrupt', reason: 'transfer 1 does not add up' },
    ]);
  }

  /** `frame` moved to `offset` (its data unchanged), sealed again: authentic, but out of place. */
  function movedTo(frame: Buffer, offset: number): Buffer {
    const moved = Buffer.from(frame);
    moved.writeUInt32BE(Math.floor(offset / 2 ** 32), 40);
    moved.writeUInt32BE(offset >>> 0, 44);
    sealFrame(link.key, moved);
    return moved;
  }

  it('make a transfer corrupt when an authentic frame is out of place, even if the lengths add up', async () => {
    const { r, events } = spool.start({ link });
    const [first, second] = dataFrames(link, 1, header, data) as [Buffer, Buffer];
    const secondOffset = Number(second.readUInt32BE(44));
    // Overlapping the first frame by 100 bytes: the transfer's last 100 bytes would stay unwritten.
    r.accept(first);
    r.accept(movedTo(second, secondOffset - 100));
    await corruptVerdict(events);
    // The frame in its place comes too late: the transfer was given up.
    r.accept(second);
    assert.equal(events.length, 1);
  });

  it('make a transfer corrupt when its first frame is not at offset 0', async () => {
    const { r, events } = spool.start({ link });
    const [first, second] = dataFrames(link, 1, header, data) as [Buffer, Buffer];
    // 100 bytes on: the transfer's first 100 bytes would stay unwritten.
    r.accept(movedTo(first, 100));
    r.accept(second);
    await corruptVerdict(events);
  });

  it('report a transfer that never completes corrupt when a frame of it was out of place', async () => {
    const { r, events } = spool.start({ link });
    const [first] = dataFrames(link, 1, header, data) as [Buffer, Buffer];
    r.accept(movedTo(first, 100));
    // Transfer 2 says transfer 1 has left the sending end: it will not complete.
    for (const f of dataFrames(link, 2, header, data, 2)) r.accept(f);
    await waitFor('the verdict on transfer 1', () => events.length === 2);
    assert.deepEqual(lostOf(events), [
      [1, 'corrupt', '1 of its 2 frames missing, and a frame of it was out of place'],
    ]);
  });

  it('make a transfer corrupt when a frame claims a first frame of another size', async () => {
    const { r, events } = spool.start({ link });
    const frames = dataFrames(link, 1, header, randomBytes(7000)) as [Buffer, Buffer, Buffer];
    assert.equal(frames.length, 3);
    const [first, second, third] = frames;
    // The middle frame first, 10 bytes further on: it says the first frame holds 10 more bytes.
    r.accept(movedTo(second, Number(second.readUInt32BE(44)) + 10));
    r.accept(first);
    r.accept(third);
    await corruptVerdict(events);
  });

  it('make a transfer whose authentic frames do not add up to its length corrupt', async () => {
    const { r, events } = spool.start({ link });
    const [first, second] = dataFrames(link, 1, header, data) as [Buffer, Buffer];
    const short = Buffer.alloc(second.length - 100);
    second.copy(short, 0, 0, short.length - TAG_SIZE);
    sealFrame(link.key, short);
    r.accept(first);
    r.accept(short);
    await corruptVerdict(events);
  });
});
