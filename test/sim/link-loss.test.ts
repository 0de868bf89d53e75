/**
 * The receiving end of the link decides about each transfer once: late
 * frames and copies of decided transfers are ignored, the heartbeats' lists
 * of open transfers (whole, cut short, or stale) decide about transfers
 * while an older one is still on its way, and an abort counts only for a
 * transfer not yet decided.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameType } from '../../src/sim/link/format.ts';
import { waitFor } from '../helpers/deadline.ts';
import { controlFrame, dataFrames, heartbeatFrame } from './link-frames.ts';
import { completeOf, lostOf, reassemblersForFile } from './reassembler.ts';

const header = Buffer.from('Msg\nXferId x\n\n');
const spool = reassemblersForFile();
/** 3000 data bytes: two frames of the default 2000 bytes. */
const DATA = Buffer.alloc(3000, 'd');
const MISSING = '1 of its 2 frames missing';

describe('decided transfers', () => {
  it('ignores a late frame of a transfer the watermark passed', () => {
    const { r, events, link } = spool.start();
    const [first, second] = dataFrames(link, 1, header, DATA);
    r.accept(first as Buffer);
    r.accept(controlFrame(link, FrameType.heartbeat, 1, 2));
    r.accept(second as Buffer);
    assert.deepEqual(lostOf(events), [[1, 'lost', MISSING]]);
    assert.deepEqual(r.takeCounts(), { ignored: 1, rejected: 0, lastRejection: undefined });
  });

  it('takes an abort for a transfer not decided yet only, even one of which nothing arrived', async () => {
    const { r, events, link } = spool.start();
    for (const f of dataFrames(link, 1, header, DATA)) r.accept(f);
    r.accept(controlFrame(link, FrameType.abort, 1, 1)); // delivered already
    r.accept(controlFrame(link, FrameType.abort, 2, 1)); // nothing of it arrived
    r.accept(controlFrame(link, FrameType.abort, 2, 1)); // a copy
    for (const f of dataFrames(link, 3, header, DATA, 1)) r.accept(f);
    await waitFor('transfer 3', () => completeOf(events).includes(3));
    assert.deepEqual(completeOf(events), [1, 3]);
    assert.deepEqual(lostOf(events), [[2, 'aborted', 'its upload failed at the sender node']]);
    await r.close();
  });
});

describe('heartbeats', () => {
  it('decide about a transfer no longer listed open, not one above a list cut short', async () => {
    const { r, events, link } = spool.start();
    const frames = [1, 2, 3].map((n) => dataFrames(link, n, header, DATA, 1));
    for (const f of frames) r.accept(f[0] as Buffer); // three uploads under way
    r.accept(heartbeatFrame(link, 1, 1, 4, [1, 2, 3]));
    assert.deepEqual(lostOf(events), []);
    // Cut short at 3: transfer 2 has left (with a frame missing here); nothing said about 3.
    r.accept(heartbeatFrame(link, 2, 1, 3, [1]));
    assert.deepEqual(lostOf(events), [[2, 'lost', MISSING]]);
    r.accept(heartbeatFrame(link, 3, 1, 4, [1, 3]));
    r.accept(frames[2]?.[1] as Buffer); // transfer 3 completes while 1 is still on its way
    r.accept(heartbeatFrame(link, 4, 1, 4, [1]));
    r.accept(frames[2]?.[1] as Buffer); // a copy
    await waitFor('transfer 3', () => completeOf(events).includes(3));
    assert.deepEqual(lostOf(events), [[2, 'lost', MISSING]]);
    assert.equal(r.takeCounts()?.ignored, 1);
    r.accept(heartbeatFrame(link, 5, 4, 4, [])); // transfer 1 has left too
    assert.deepEqual(lostOf(events), [
      [2, 'lost', MISSING],
      [1, 'lost', MISSING],
    ]);
    assert.deepEqual(completeOf(events), [3]);
  });

  it('that list a delivered transfer as open, and older watermarks, undo nothing', async () => {
    const { r, events, link } = spool.start();
    const stalled = dataFrames(link, 1, header, DATA);
    const whole = dataFrames(link, 2, header, DATA, 1);
    r.accept(stalled[0] as Buffer);
    for (const f of whole) r.accept(f);
    r.accept(heartbeatFrame(link, 1, 1, 4, [1, 2])); // stale: 2 is in already
    assert.deepEqual(lostOf(events), [[3, 'lost', 'none of its frames arrived']]);
    // A frame whose watermark (2) is below what the heartbeat decided (4).
    for (const f of dataFrames(link, 5, header, DATA, 2)) r.accept(f);
    r.accept(heartbeatFrame(link, 2, 2, 6, []));
    r.accept(whole[1] as Buffer); // a copy
    await waitFor('transfer 5', () => completeOf(events).includes(5));
    assert.deepEqual(completeOf(events), [2, 5]);
    assert.deepEqual(lostOf(events), [
      [3, 'lost', 'none of its frames arrived'],
      [1, 'lost', MISSING],
      [4, 'lost', 'none of its frames arrived'],
    ]);
    assert.equal(r.takeCounts()?.ignored, 1);
  });
});
