/**
 * Where the receiving end of the link keeps a transfer's data: in memory up
 * to memoryLimit bytes; a larger one in memory too while it fits
 * memoryBudget (lent until the node releases it, or given back when the
 * transfer is dropped), else in a spool file; which buffers go to the node
 * with it; and a spool that falls behind, which fails transfers on UDP only.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { FrameType, type LinkEvent } from '../../src/sim/link/format.ts';
import { SLAB_SIZE, SlabPool } from '../../src/sim/link/incoming-data.ts';
import type { Reassembler } from '../../src/sim/link/reassembly.ts';
import { waitFor } from '../helpers/deadline.ts';
import { spyWritev } from '../helpers/writev-spy.ts';
import { controlFrame, dataFrames } from './link-frames.ts';
import { contentOf, lostOf, reassemblersForFile } from './reassembler.ts';

const header = Buffer.from('Msg\nXferId x\n\n');
const spool = reassemblersForFile();

/** Where a complete transfer's data is: memory lent from the budget, memory, or a spool file. */
function placeOf(event: LinkEvent | undefined): string {
  if (event?.type !== 'complete') return `not complete: ${JSON.stringify(event)}`;
  if (event.chunks && event.path === undefined) return event.budgeted ? 'budget' : 'memory';
  return event.chunks === undefined && !event.budgeted ? 'file' : 'both?';
}

/** Waits for `n` events (spool files may be slow on a busy disk), failing with what did arrive. */
function eventsIn(events: LinkEvent[], n: number): Promise<void> {
  return waitFor(
    `${n} events`,
    () => events.length >= n,
    20_000,
    () => JSON.stringify(events),
  );
}

describe('memory or a spool file', () => {
  it('keeps a transfer of up to memoryLimit bytes in memory, a larger one in a file', async () => {
    const { r, events, link } = spool.start({ memoryLimit: 1000 });
    const data = [randomBytes(1000), randomBytes(1001)];
    for (const [i, d] of data.entries())
      for (const f of dataFrames(link, i + 1, header, d)) r.accept(f);
    await eventsIn(events, 2);
    assert.deepEqual(events.map(placeOf), ['memory', 'file']);
    assert.deepEqual(await contentOf(events[0]), data[0]);
    assert.deepEqual(await contentOf(events[1]), data[1]);
  });

  it('lends larger transfers memory while it lasts, and lends it again once released', async () => {
    const { r, events, link } = spool.start({ memoryLimit: 1000, memoryBudget: 4000 });
    const sizes = [500, 2000, 2000, 2000];
    for (const [i, size] of sizes.entries()) {
      for (const f of dataFrames(link, i + 1, header, randomBytes(size))) r.accept(f);
    }
    await eventsIn(events, 4);
    // 500 bytes are small; the budget holds two of 2000 bytes exactly.
    assert.deepEqual(events.map(placeOf), ['memory', 'budget', 'budget', 'file']);
    r.release(2000);
    for (const n of [5, 6])
      for (const f of dataFrames(link, n, header, randomBytes(2000))) r.accept(f);
    await eventsIn(events, 6);
    assert.deepEqual(events.slice(4).map(placeOf), ['budget', 'file']);
    await contentOf(events[3]);
    await contentOf(events[5]);
  });

  it('takes back what a dropped transfer was lent, and only that', async () => {
    const { r, events, link } = spool.start({ memoryLimit: 1000, memoryBudget: 2000 });
    // Transfer 1 is lent the whole budget, 2 goes to a file; neither arrives whole.
    for (const n of [1, 2]) r.accept(dataFrames(link, n, header, randomBytes(2000))[0] as Buffer);
    r.accept(controlFrame(link, FrameType.heartbeat, 1, 3));
    // Transfer 3 is posted once the two are dropped: then the budget is back.
    for (const f of dataFrames(link, 3, header, Buffer.from('small'))) r.accept(f);
    await eventsIn(events, 3);
    for (const n of [4, 5])
      for (const f of dataFrames(link, n, header, randomBytes(2000))) r.accept(f);
    await eventsIn(events, 5);
    assert.deepEqual(
      events.map((e) => (e.type === 'lost' ? e.kind : placeOf(e))),
      ['lost', 'lost', 'memory', 'budget', 'file'],
    );
    await contentOf(events[4]);
  });
});

describe('the buffers handed to the node', () => {
  it("are the header's and each slab's, once each; only the header's for a file", async () => {
    const { r, events, transfers, link } = spool.start({ memoryLimit: 3 * SLAB_SIZE });
    // In memory: two full slabs and a half one (1,300-odd frames); in a file: one byte more than the limit.
    const data = randomBytes(2.5 * SLAB_SIZE);
    for (const f of dataFrames(link, 1, header, data)) r.accept(f);
    for (const f of dataFrames(link, 2, header, randomBytes(3 * SLAB_SIZE + 1))) r.accept(f);
    await eventsIn(events, 2);
    const [inMemory, spooled] = events;
    assert.ok(inMemory?.type === 'complete' && inMemory.chunks);
    assert.deepEqual(
      inMemory.chunks.map((c) => c.length),
      [SLAB_SIZE, SLAB_SIZE, SLAB_SIZE / 2],
    );
    assert.deepEqual(await contentOf(inMemory), data);
    const expected = [inMemory.header.buffer, ...inMemory.chunks.map((c) => c.buffer)];
    assert.equal(
      new Set(expected).size,
      4,
      'the header and the three slabs have buffers of their own',
    );
    assert.equal(transfers[0]?.length, 4);
    for (const b of expected) assert.ok(transfers[0]?.includes(b as ArrayBuffer));
    assert.ok(spooled?.type === 'complete' && spooled.path !== undefined);
    assert.deepEqual(transfers[1], [spooled.header.buffer]);
    await contentOf(spooled);
  });

  it("are filled at each frame's offset, whatever order the frames come in", async () => {
    const { r, events, link } = spool.start({ memoryLimit: 3 * SLAB_SIZE });
    const data = randomBytes(2 * SLAB_SIZE + 12_345);
    const frames = dataFrames(link, 1, header, data);
    // Last first, then the rest backwards: frames that straddle slabs land in both.
    for (const f of frames.reverse()) r.accept(f);
    await eventsIn(events, 1);
    assert.deepEqual(await contentOf(events[0]), data);
  });
});

describe('a spool that falls behind', () => {
  const writeLimit = 1000;

  it('fails a spooled transfer on UDP, and removes its file', async () => {
    const { r, events, link } = spool.start({ transport: 'udp', memoryLimit: 0, writeLimit });
    for (const f of dataFrames(link, 1, header, randomBytes(5000))) r.accept(f);
    await eventsIn(events, 1);
    assert.deepEqual(events, [
      {
        type: 'lost',
        transfer: 1,
        kind: 'lost',
        reason: `could not be spooled: receiver overrun: more than ${writeLimit} bytes waiting for the disk`,
      },
    ]);
    await r.close();
    assert.deepEqual(await readdir(spool.dir), []);
  });

  it('counts every byte waiting for the disk: frames under the limit one by one fail it together', async () => {
    // 1,928-byte frames: one fits a 5,000-byte limit, two do, the third does not.
    const { r, events, link } = spool.start({ transport: 'udp', memoryLimit: 0, writeLimit: 5000 });
    const data = randomBytes(3 * 1928);
    const frames = dataFrames(link, 1, header, data);
    assert.equal(frames.length, 4);
    for (const f of frames) r.accept(f);
    await eventsIn(events, 1);
    assert.deepEqual(lostOf(events), [
      [
        1,
        'lost',
        'could not be spooled: receiver overrun: more than 5000 bytes waiting for the disk',
      ],
    ]);
  });

  it('gives the budget back once written: the same frames one transfer at a time all arrive', async () => {
    const { r, events, link } = spool.start({ transport: 'udp', memoryLimit: 0, writeLimit: 5000 });
    const data = [randomBytes(1900), randomBytes(1900), randomBytes(1900)];
    for (const [i, d] of data.entries()) {
      for (const f of dataFrames(link, i + 1, header, d)) r.accept(f);
      await eventsIn(events, i + 1); // written, and its bytes no longer count
    }
    for (const [i, d] of data.entries()) assert.deepEqual(await contentOf(events[i]), d);
  });

  it('resumes a short write to the spool file where it stopped', async () => {
    const spy = await spyWritev(spool.dir, () => 1_001); // every write takes 1,001 bytes at most
    try {
      const { r, events, link } = spool.start({ memoryLimit: 0 });
      const data = randomBytes(20_000);
      for (const f of dataFrames(link, 1, header, data)) r.accept(f);
      await eventsIn(events, 1);
      assert.deepEqual(await contentOf(events[0]), data);
      assert.ok(spy.calls.length >= 20, `${spy.calls.length} writes`);
    } finally {
      spy.restore();
    }
  });

  it('fails a transfer whose spool file takes no bytes (disk full), and removes the file', async () => {
    const spy = await spyWritev(spool.dir, () => 0);
    try {
      const { r, events, link } = spool.start({ memoryLimit: 0 });
      for (const f of dataFrames(link, 1, header, randomBytes(5000))) r.accept(f);
      await eventsIn(events, 1);
      assert.deepEqual(lostOf(events), [
        [1, 'lost', 'could not be spooled: the file system took no bytes (disk full?)'],
      ]);
      await r.close();
      const spoolFiles = (await readdir(spool.dir)).filter((name) => name.startsWith('link-'));
      assert.deepEqual(spoolFiles, []);
    } finally {
      spy.restore();
    }
  });

  it('only slows the stream transport down', async () => {
    const { r, events, link } = spool.start({ transport: 'stream', memoryLimit: 0, writeLimit });
    const data = randomBytes(5000);
    for (const f of dataFrames(link, 1, header, data)) r.accept(f);
    await eventsIn(events, 1);
    assert.deepEqual(await contentOf(events[0]), data);
  });
});

describe('frames only lent (views of the ring)', () => {
  /**
   * Lends each frame in a scratch buffer of its own, overwritten with
   * garbage as soon as it is given back: once `accept` returns when it was
   * not held, else once released. Returns the holds not yet released.
   */
  function lend(r: Reassembler, frames: Buffer[]): () => number {
    let unreleased = 0;
    for (const f of frames) {
      const scratch = Buffer.from(f);
      let held = false;
      r.accept(scratch, () => {
        held = true;
        unreleased++;
        let released = false;
        return () => {
          assert.equal(released, false, 'a hold is released once');
          released = true;
          unreleased--;
          scratch.fill(0xee);
        };
      });
      if (!held) scratch.fill(0xee);
    }
    r.flush();
    return () => unreleased;
  }

  it('are copied when kept in memory, held until written when spooled', async () => {
    const { r, events, transfers, link } = spool.start({ memoryLimit: 3 * SLAB_SIZE });
    // In memory: 1,300-odd frames, copied into three slabs; in a file: 20,000 bytes more.
    const data = [randomBytes(2.5 * SLAB_SIZE), randomBytes(3 * SLAB_SIZE + 20_000)];
    const unreleased = data.map((d, i) => lend(r, dataFrames(link, i + 1, header, d)));
    await eventsIn(events, 2);
    assert.deepEqual(events.map(placeOf), ['memory', 'file']);
    assert.deepEqual(await contentOf(events[0]), data[0]);
    assert.deepEqual(await contentOf(events[1]), data[1]);
    assert.deepEqual(
      unreleased.map((u) => u()),
      [0, 0],
    );
    const inMemory = events[0];
    assert.ok(inMemory?.type === 'complete' && inMemory.chunks);
    const buffers = new Set(inMemory.chunks.map((c) => c.buffer));
    assert.equal(inMemory.chunks.length, 3);
    assert.equal(buffers.size, 3, 'each slab has memory of its own');
    for (const b of buffers) assert.ok(transfers[0]?.includes(b as ArrayBuffer));
  });

  it('are copied into slabs the node gives back, filled again for later transfers', async () => {
    const { r, events, link } = spool.start({ memoryLimit: 2 * SLAB_SIZE });
    // Two full slabs each: only full slabs are kept for reuse.
    const data = [0, 1, 2].map(() => randomBytes(2 * SLAB_SIZE));
    lend(r, dataFrames(link, 1, header, data[0] as Buffer));
    await eventsIn(events, 1);
    const first = events[0];
    assert.ok(first?.type === 'complete' && first.chunks);
    assert.deepEqual(await contentOf(first), data[0]);
    const given = first.chunks.map((c) => c.buffer as ArrayBuffer);
    r.release(0, given);
    lend(r, dataFrames(link, 2, header, data[1] as Buffer));
    await eventsIn(events, 2);
    const second = events[1];
    assert.ok(second?.type === 'complete' && second.chunks);
    assert.deepEqual(await contentOf(second), data[1], 'the reused buffers hold the new data');
    assert.deepEqual(
      new Set(second.chunks.map((c) => c.buffer)),
      new Set(given),
      'the buffers given back were filled again',
    );
    // Not given back: fresh buffers.
    lend(r, dataFrames(link, 3, header, data[2] as Buffer));
    await eventsIn(events, 3);
    const third = events[2];
    assert.ok(third?.type === 'complete' && third.chunks);
    assert.ok(third.chunks.every((c) => !given.includes(c.buffer as ArrayBuffer)));
    assert.deepEqual(await contentOf(third), data[2]);
  });

  it('spooled out of order and over many writes arrive whole, every hold released', async () => {
    const { r, events, link } = spool.start({ memoryLimit: 0 });
    const data = randomBytes(3_000_000); // 1,500 frames of 2000 bytes: many writes of 1 MiB
    const frames = dataFrames(link, 1, header, data);
    const last = frames.pop() as Buffer;
    const [a, b] = [frames.splice(700, 1)[0] as Buffer, frames.splice(10, 1)[0] as Buffer];
    const unreleased = [lend(r, frames), lend(r, [a, b, last])];
    await eventsIn(events, 1);
    assert.deepEqual(await contentOf(events[0]), data);
    assert.deepEqual(
      unreleased.map((u) => u()),
      [0, 0],
    );
  });

  it('held in a batch are written once the reader is told to flush, without waiting for the rest', async () => {
    const { r, events, link } = spool.start({ memoryLimit: 0 });
    const frames = dataFrames(link, 1, header, randomBytes(10_000)); // 6 frames
    let unreleased = 0;
    for (const f of frames.slice(0, 2)) {
      r.accept(Buffer.from(f), () => {
        unreleased++;
        return () => unreleased--;
      });
    }
    assert.equal(unreleased, 2, 'both frames are held, in a batch not yet written');
    r.flush();
    await waitFor('the held frames written and let go', () => unreleased === 0, 20_000);
    assert.equal(events.length, 0, 'the transfer is not complete');
  });

  it('held by a transfer that is dropped are released', async () => {
    const { r, events, link } = spool.start({ memoryLimit: 0 });
    const frames = dataFrames(link, 1, header, randomBytes(10_000));
    const unreleased = lend(r, frames.slice(0, 2));
    r.accept(controlFrame(link, FrameType.heartbeat, 1, 2));
    await eventsIn(events, 1);
    assert.equal(events[0]?.type, 'lost');
    await waitFor("the dropped transfer's holds released", () => unreleased() === 0, 20_000);
  });
});

describe('the slab pool', () => {
  it('lends full slabs again once given back, up to its spares; other sizes are its own', () => {
    const pool = new SlabPool(2);
    const full = [pool.take(SLAB_SIZE), pool.take(SLAB_SIZE), pool.take(SLAB_SIZE)];
    const short = pool.take(1000);
    assert.equal(short.length, 1000);
    assert.equal(short.buffer.byteLength, 1000, 'a short slab has memory of its own size');
    pool.giveBack([short, ...full].map((b) => b.buffer as ArrayBuffer));
    const again = [pool.take(SLAB_SIZE), pool.take(SLAB_SIZE), pool.take(SLAB_SIZE)];
    const reused = again.filter((b) => full.some((f) => f.buffer === b.buffer));
    assert.equal(reused.length, 2, 'two spares kept, the third slab dropped');
    assert.ok(again.every((b) => b.buffer !== short.buffer));
  });
});
