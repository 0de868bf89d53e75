/**
 * The link's frames and their reassembly, without sockets: authentication,
 * field checks before anything is allocated, reassembly in any order, loss
 * decided by the sender's watermark, aborts, and clean-up.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  dataRoom,
  FIXED_SIZE,
  type FrameCheck,
  FrameType,
  frameCount,
  type LinkEvent,
  openFrame,
  TAG_SIZE,
} from '../../src/sim/link/format.ts';
import { WriteBudget } from '../../src/sim/link/incoming-data.ts';
import { Reassembler } from '../../src/sim/link/reassembly.ts';
import { waitFor } from '../helpers/deadline.ts';
import { controlFrame, dataFrames, heartbeatFrame, resealed, testLink } from './link-frames.ts';

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

describe('reassembly', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ddmw-sim-link-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  function reassembler(memoryLimit: number, link: FrameCheck = testLink()) {
    const events: LinkEvent[] = [];
    const config = {
      transport: 'stream' as const,
      host: '127.0.0.1',
      spoolDir: dir,
      memoryLimit,
      memoryBudget: 0,
      recvBufferSize: 0,
      key: link.key,
      session: link.session,
      frameSize: link.frameSize,
      maxTransferBytes: link.maxTransferBytes,
      heartbeatMs: 1000,
      heartbeatMisses: 3,
      watchLink: false,
    };
    const r = new Reassembler(
      config,
      (e) => events.push(e),
      new WriteBudget(1 << 30, () => {}),
      () => {},
    );
    return { r, events, link };
  }

  async function contentOf(event: LinkEvent | undefined): Promise<Buffer> {
    if (event?.type !== 'complete') throw new Error(`not complete: ${JSON.stringify(event)}`);
    if (event.chunks) return Buffer.concat(event.chunks);
    // The receiver node owns a delivered spool file: it removes it when done.
    const path = event.path as string;
    const content = await readFile(path);
    await unlink(path);
    return content;
  }

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
    assert.deepEqual(await readdir(dir), []);
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
    assert.deepEqual(await readdir(dir), []);
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
    assert.deepEqual(await readdir(dir), []);
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
    await r.close();
    assert.deepEqual(events, []);
    assert.deepEqual(await readdir(dir), []);
  });
});
