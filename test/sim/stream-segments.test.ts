/**
 * The sender node cuts a stream into segments in buffers it fills again
 * once the link has taken their bytes, never sooner: a link that takes a
 * segment late still carries the bytes the client sent.
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
  it('carry the bytes written even when the link takes them late', async () => {
    const { link, taken, takeAll } = lateLink();
    const out = new OutgoingStream(link, 'x');
    const sent: Buffer[] = [];
    const lent = Buffer.alloc(256 * 1024); // the client's bytes arrive in one reused buffer
    for (let i = 0; i < 24; i++) {
      randomBytes(lent.length).copy(lent);
      sent.push(Buffer.from(lent));
      await within(out.write(lent), 5000, `write ${i}`);
    }
    await within(out.flush(), 5000, 'the last segment');
    takeAll();
    const segments = taken;
    assert.equal(segments.length, (24 * 256 * 1024) / SEGMENT_SIZE);
    assert.deepEqual(Buffer.concat(segments), Buffer.concat(sent));
  });
});
