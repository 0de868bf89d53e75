/**
 * How the sender node gathers a stream segment's bytes: large socket reads
 * are kept as they are, small pieces are copied into staging buffers, so
 * the memory a segment holds stays within about twice its bytes whatever
 * the client's chunking, and the bytes stay in order.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { SegmentPieces } from '../../src/sim/sender/segment-pieces.ts';

/** `n` bytes in memory of `memory` bytes of their own, as a socket read's view. */
function pieceIn(n: number, memory: number): Buffer {
  const whole = Buffer.allocUnsafeSlow(memory);
  randomBytes(n).copy(whole);
  return whole.subarray(0, n);
}

/** Bytes of memory the distinct buffers behind `pieces` hold. */
function memoryOf(pieces: Buffer[]): number {
  const buffers = new Set(pieces.map((p) => p.buffer));
  return [...buffers].reduce((sum, b) => sum + b.byteLength, 0);
}

describe('a segment gathered at the sender node', () => {
  it('keeps a large socket read as it is', () => {
    const s = new SegmentPieces();
    const read = pieceIn(64 * 1024, 64 * 1024);
    s.add(read);
    const [piece, ...rest] = s.take();
    assert.equal(rest.length, 0);
    assert.equal(piece?.buffer, read.buffer, 'the same memory, not a copy');
  });

  it('copies tiny pieces of large reads: memory stays near the bytes held', () => {
    const s = new SegmentPieces();
    const added: Buffer[] = [];
    for (let i = 0; i < 2000; i++) {
      const piece = pieceIn(1, 64 * 1024); // 1 byte holding a whole 64 KiB read
      added.push(piece);
      s.add(piece);
    }
    assert.equal(s.bytes, 2000);
    const pieces = s.take();
    assert.deepEqual(Buffer.concat(pieces), Buffer.concat(added));
    assert.ok(pieces.every((p) => added.every((a) => a.buffer !== p.buffer)));
    assert.ok(memoryOf(pieces) <= 2000 + 64 * 1024, `${memoryOf(pieces)} bytes of memory`);
    assert.equal(s.bytes, 0, 'gathering starts afresh');
  });

  it('copies a piece that fills less than half of its memory, however large', () => {
    const s = new SegmentPieces();
    const piece = pieceIn(20 * 1024, 64 * 1024);
    s.add(piece);
    const pieces = s.take();
    assert.notEqual(pieces[0]?.buffer, piece.buffer);
    assert.deepEqual(Buffer.concat(pieces), piece);
  });

  it('keeps the bytes in order across kept and copied pieces, one staging buffer for the small ones', () => {
    const s = new SegmentPieces();
    const added = [
      pieceIn(10, 10),
      pieceIn(40 * 1024, 40 * 1024),
      pieceIn(20, 20),
      pieceIn(30, 30),
      pieceIn(64 * 1024, 64 * 1024),
      pieceIn(5, 5),
    ];
    for (const p of added) s.add(p);
    const pieces = s.take();
    assert.deepEqual(Buffer.concat(pieces), Buffer.concat(added));
    assert.deepEqual(
      pieces.map((p) => p.length),
      [10, 40 * 1024, 50, 64 * 1024, 5],
    );
    const staged = [pieces[0], pieces[2], pieces[4]].map((p) => p?.buffer);
    assert.equal(new Set(staged).size, 1, 'the small pieces share one staging buffer');
  });

  it('leaves a taken segment as it was while the next one fills the same staging buffer', () => {
    const s = new SegmentPieces();
    const first = pieceIn(100, 100);
    s.add(first);
    const taken = s.take();
    const second = pieceIn(200, 200);
    s.add(second);
    const next = s.take();
    assert.deepEqual(Buffer.concat(taken), Buffer.from(first), 'the first segment is unchanged');
    assert.deepEqual(Buffer.concat(next), Buffer.from(second));
    assert.equal(taken[0]?.buffer, next[0]?.buffer, 'one staging buffer for both');
  });

  it('keeps a piece of 16 KiB that fills half of its memory, copies one a byte smaller or emptier', () => {
    const kept = pieceIn(16 * 1024, 32 * 1024);
    const smaller = pieceIn(16 * 1024 - 1, 16 * 1024 - 1);
    const emptier = pieceIn(16 * 1024, 32 * 1024 + 1);
    const s = new SegmentPieces();
    for (const p of [kept, smaller, emptier]) s.add(p);
    const pieces = s.take();
    assert.equal(pieces[0]?.buffer, kept.buffer, 'kept as it is');
    assert.ok(
      pieces.slice(1).every((p) => p.buffer !== smaller.buffer && p.buffer !== emptier.buffer),
    );
    assert.deepEqual(Buffer.concat(pieces), Buffer.concat([kept, smaller, emptier]));
  });

  it('goes on in a new staging buffer when one is full', () => {
    const s = new SegmentPieces();
    const added = Array.from({ length: 100 }, () => pieceIn(1000, 1000));
    for (const p of added) s.add(p);
    const pieces = s.take();
    assert.deepEqual(Buffer.concat(pieces), Buffer.concat(added));
    assert.deepEqual(
      pieces.map((p) => p.length),
      [64 * 1024, 100_000 - 64 * 1024],
    );
  });
});
