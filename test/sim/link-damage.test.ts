/**
 * Damaged frames: a transfer lost after one of its frames failed
 * authentication is reported corrupt. Only a frame that fails
 * authentication counts, and the receiving end remembers at most 1024
 * damaged transfers it has not seen yet, within 1024 of the transfers in
 * flight, and none already decided or delivered.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  FIXED_SIZE,
  type FrameCheck,
  FrameType,
  type LinkEvent,
} from '../../src/sim/link/format.ts';
import { waitFor } from '../helpers/deadline.ts';
import { controlFrame, dataFrames, resealed, testLink } from './link-frames.ts';
import { completeOf, lostOf, reassemblersForFile } from './reassembler.ts';

const header = Buffer.from('Msg\nXferId x\n\n');
const spool = reassemblersForFile();

/** A frame claiming transfer `n` that fails authentication (its tag is damaged). */
function damaged(link: FrameCheck, n: number): Buffer {
  const frame = dataFrames(link, n, header, Buffer.from('x'))[0] as Buffer;
  frame[frame.length - 1] = (frame[frame.length - 1] as number) ^ 1;
  return frame;
}

/** The transfers among `from..to` reported corrupt and lost once the watermark passed them. */
function verdicts(events: LinkEvent[], from: number, to: number) {
  const kinds = new Map(lostOf(events).map(([n, kind]) => [n, kind]));
  const of = (kind: string) => {
    const ns: number[] = [];
    for (let n = from; n <= to; n++) if (kinds.get(n) === kind) ns.push(n);
    return ns;
  };
  return { corrupt: of('corrupt'), lost: of('lost') };
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('damaged frames', () => {
  it('mark their transfer only when they fail authentication', () => {
    const { r, events, link } = spool.start();
    const [frame] = dataFrames(link, 2, header, Buffer.from('x'));
    const oversize = Buffer.concat([frame as Buffer, Buffer.alloc(link.frameSize)]);
    const badFlags = resealed(link.key, frame as Buffer, (b) => (b[5] = 0));
    const otherSession = dataFrames(
      { ...link, session: testLink().session },
      2,
      header,
      Buffer.from('x'),
    );
    for (const f of [oversize, badFlags, otherSession[0] as Buffer]) r.accept(f);
    r.accept(controlFrame(link, FrameType.heartbeat, 1, 3));
    assert.deepEqual(lostOf(events), [
      [1, 'lost', 'none of its frames arrived'],
      [2, 'lost', 'none of its frames arrived'],
    ]);
    assert.deepEqual(r.takeCounts(), {
      ignored: 0,
      rejected: 3,
      lastRejection: 'another link session',
    });
  });

  it('of up to 1024 transfers not seen yet are remembered, whatever else fails authentication', () => {
    const { r, events, link } = spool.start();
    for (let n = 1; n <= 1023; n++) r.accept(damaged(link, n));
    // A heartbeat that fails authentication claims no transfer.
    const beat = controlFrame(link, FrameType.heartbeat, 1, 2000);
    beat[FIXED_SIZE - 1] = (beat[FIXED_SIZE - 1] as number) ^ 1;
    r.accept(beat);
    for (const n of [1024, 1025]) r.accept(damaged(link, n));
    r.accept(controlFrame(link, FrameType.heartbeat, 1, 1026));
    assert.deepEqual(verdicts(events, 1, 1025), { corrupt: range(1, 1024), lost: [1025] });
    assert.equal(r.takeCounts()?.rejected, 1026);
  });

  it('of a transfer more than 1024 beyond those in flight are not remembered', () => {
    const { r, events, link } = spool.start();
    for (const n of [1025, 1026]) r.accept(damaged(link, n));
    r.accept(controlFrame(link, FrameType.heartbeat, 1, 1027));
    assert.deepEqual(verdicts(events, 1025, 1026), { corrupt: [1025], lost: [1026] });
  });

  it('of transfers already decided are not remembered', () => {
    const { r, events, link } = spool.start();
    r.accept(controlFrame(link, FrameType.heartbeat, 1, 1100));
    for (let n = 1; n < 1100; n++) r.accept(damaged(link, n));
    r.accept(damaged(link, 1100));
    r.accept(controlFrame(link, FrameType.heartbeat, 2, 1101));
    assert.deepEqual(verdicts(events, 1, 1100), { corrupt: [1100], lost: range(1, 1099) });
  });

  it('of transfers that then arrive whole are forgotten with them', async () => {
    const link = testLink(1024);
    const { r, events } = spool.start({ link });
    for (let n = 1; n <= 1024; n++) {
      const [first, second] = dataFrames(link, n, header, randomBytes(1000));
      r.accept(first as Buffer);
      const copy = Buffer.from(second as Buffer);
      copy[FIXED_SIZE] = (copy[FIXED_SIZE] as number) ^ 1;
      r.accept(copy);
      r.accept(second as Buffer);
    }
    r.accept(damaged(link, 1025));
    r.accept(controlFrame(link, FrameType.heartbeat, 1, 1026));
    assert.deepEqual(lostOf(events), [
      [1025, 'corrupt', 'none of its frames arrived, and a frame of it failed authentication'],
    ]);
    await waitFor(
      '1024 transfers',
      () => completeOf(events).length === 1024,
      20_000,
      () => String(completeOf(events).length),
    );
    await r.close();
  });
});
