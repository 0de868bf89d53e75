/**
 * The ring the default link's frames cross between threads: frames round
 * trip in order across its end, the reader sees views of it, and the
 * writer may reuse it only below the oldest frame the reader still holds.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  copyShared,
  frameFootprint,
  RingHolds,
  readFrames,
  writeFrame,
} from '../../src/sim/link/ring.ts';

describe('ring', () => {
  it('carries frames in order, across its end, as views of the ring with their positions', () => {
    const ring = Buffer.from(new SharedArrayBuffer(1000));
    const frames = Array.from({ length: 9 }, (_, i) => randomBytes(150 + i * 17));
    let written = 0;
    let read = 0;
    const got: { frame: Buffer; at: number; shared: boolean }[] = [];
    const starts: number[] = [];
    for (const f of frames) {
      if (frameFootprint(ring, written, f) > ring.length - (written - read)) {
        read = readFrames(ring, read, written, (frame, at) =>
          got.push({ frame: Buffer.from(frame), at, shared: frame.buffer === ring.buffer }),
        );
      }
      written = writeFrame(ring, written, f);
      // Its length and bytes end where the writer is now (after any skip to the ring's start).
      starts.push(written - 4 - f.length);
    }
    read = readFrames(ring, read, written, (frame, at) =>
      got.push({ frame: Buffer.from(frame), at, shared: frame.buffer === ring.buffer }),
    );
    assert.equal(read, written);
    assert.deepEqual(
      got.map((g) => g.frame),
      frames,
    );
    assert.ok(written > 2 * ring.length, 'the ring went round');
    assert.ok(
      got.every((g) => g.shared),
      'frames are views of the ring',
    );
    assert.deepEqual(
      got.map((g) => g.at),
      starts,
    );
  });

  it('copies into and out of shared memory, and an empty buffer as nothing', () => {
    const ring = Buffer.from(new SharedArrayBuffer(64));
    const data = randomBytes(20);
    copyShared(ring, 10, data);
    assert.deepEqual(ring.subarray(10, 30), data);
    assert.deepEqual(ring.subarray(0, 10), Buffer.alloc(10));
    assert.deepEqual(ring.subarray(30), Buffer.alloc(34));
    const out = Buffer.alloc(20);
    copyShared(out, 0, ring.subarray(10, 30));
    assert.deepEqual(out, data);
    copyShared(ring, 64, Buffer.alloc(0));
  });
});

describe('ring holds', () => {
  it('free the ring up to the oldest frame still held, whatever order they are released in', () => {
    let releases = 0;
    const holds = new RingHolds(() => releases++);
    assert.equal(holds.freeBelow(500), 500, 'nothing held: free up to what was read');
    const a = holds.hold(100);
    const b = holds.hold(200);
    const c = holds.hold(300);
    assert.equal(holds.freeBelow(400), 100);
    b();
    assert.equal(holds.freeBelow(400), 100, 'an older frame is still held');
    a();
    assert.equal(holds.freeBelow(400), 300);
    a();
    assert.equal(releases, 2, 'a second release of the same hold counts for nothing');
    c();
    assert.equal(holds.freeBelow(400), 400);
    assert.equal(releases, 3);
  });
});
