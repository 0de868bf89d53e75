/**
 * The sender node cuts a stream into segments made of the client's pieces
 * themselves (the link copies them into its frames): a link that takes a
 * segment late still carries the bytes the client sent, and every segment
 * but the last is exactly a segment's size, whatever the pieces' sizes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { LinkSender } from '../../src/sim/link/sender.ts';
import { OutgoingStream, SEGMENT_SIZE } from '../../src/sim/sender/strmif.ts';
import { within } from '../helpers/deadline.ts';

/** A link whose transfers are taken late: each when the one two after it opens (or at the end). */
function lateLink() {
  const open: { bytes: Buffer[]; take: () => void }[] = [];
  const taken: Buffer[] = [];
  const link = {
    maxTransferBytes: 2 ** 40,
    open(_header: Buffer, _total: number) {
      let take = () => {};
      const sent = new Promise<void>((resolve) => {
        take = resolve;
      });
      let done = false;
      const t = {
        bytes: [] as Buffer[],
        take: () => {
          if (done) return;
          done = true;
          taken.push(Buffer.concat(t.bytes)); // what the link reads, now
          take();
        },
      };
      open.push(t);
      open.at(-3)?.take();
      return {
        sent,
        push(b: Buffer) {
          t.bytes.push(b);
          return true;
        },
      };
    },
  };
  return { link: link as unknown as LinkSender, taken, takeAll: () => open.map((t) => t.take()) };
}

describe('stream segments at the sender node', () => {
  it('carry the bytes written even when the link takes them late, cut at segment boundaries', async () => {
    const { link, taken, takeAll } = lateLink();
    const out = new OutgoingStream(link, 'x');
    const sent: Buffer[] = [];
    // Pieces that do not divide a segment: some segments end inside a piece.
    const pieceSize = 300 * 1024;
    for (let i = 0; i < 24; i++) {
      const piece = randomBytes(pieceSize);
      sent.push(piece);
      await within(out.write(piece), 5000, `write ${i}`);
    }
    await within(out.flush(), 5000, 'the last segment');
    takeAll();
    const total = 24 * pieceSize;
    assert.deepEqual(
      taken.map((t) => t.length),
      [
        ...Array.from({ length: Math.floor(total / SEGMENT_SIZE) }, () => SEGMENT_SIZE),
        total % SEGMENT_SIZE,
      ],
    );
    assert.deepEqual(Buffer.concat(taken), Buffer.concat(sent));
    assert.equal(out.length, total);
  });
});
