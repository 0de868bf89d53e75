/**
 * The link's receiving end computes each stream's sha-256 as its transfers
 * complete (link/stream-digests.ts), by the receiver node's rules: segments
 * in `Seq` order from 0, from memory or from their spool file; a stream
 * whose segments come out of order, that never started, or that was
 * forgotten (too many at once) gets no digest, and the node then aborts it.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodeTelegram, Telegram } from '../../src/blather/index.ts';
import { StreamDigests } from '../../src/sim/link/stream-digests.ts';
import { decodeHeader, STREAM_IDLE_MS, STREAM_TOPICS } from '../../src/sim/link/transfer-header.ts';
import type { Discarded } from '../../src/sim/receiver/discarded.ts';
import { StreamOutlet, StreamRouter } from '../../src/sim/receiver/strm-delivery.ts';
import { newStats } from '../../src/sim/stats.ts';
import { waitFor } from '../helpers/deadline.ts';
import { dataFrames } from './link-frames.ts';
import { contentOf, reassemblersForFile } from './reassembler.ts';

const start = (id: string) =>
  encodeTelegram(new Telegram(STREAM_TOPICS.start, { _Ch: '1', XferId: id, Cmd: 0 }));
const segment = (id: string, seq: number) =>
  encodeTelegram(new Telegram(STREAM_TOPICS.segment, { XferId: id, Seq: seq }));
const end = (id: string) =>
  encodeTelegram(new Telegram(STREAM_TOPICS.end, { XferId: id, Len: 0, Segs: 0 }));
const none = { pieces: [] };
const sha = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest('hex');

describe('stream digests at the receiving end of the link', () => {
  it('is the sha-256 of the segments in order, from memory and from spool files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ddmw-digests-'));
    try {
      const d = new StreamDigests();
      const parts = [randomBytes(1000), randomBytes(70_000), randomBytes(5)];
      const spooled = join(dir, 'segment-1');
      await writeFile(spooled, parts[1] as Buffer);
      assert.equal(await d.take(start('s'), none), undefined);
      const first = parts[0] as Buffer;
      const pieces = [first.subarray(0, 400), first.subarray(400)];
      assert.equal(await d.take(segment('s', 0), { pieces }), undefined);
      assert.equal(await d.take(segment('s', 1), { path: spooled }), undefined);
      assert.equal(await d.take(segment('s', 2), { pieces: [parts[2] as Buffer] }), undefined);
      assert.equal(await d.take(end('s'), none), sha(...parts));
      assert.equal(await d.take(end('s'), none), undefined, 'once only');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('keeps streams apart, and an empty stream has the digest of nothing', async () => {
    const d = new StreamDigests();
    const [a, b] = [randomBytes(10), randomBytes(20)];
    await d.take(start('a'), none);
    await d.take(start('b'), none);
    await d.take(start('c'), none);
    await d.take(segment('b', 0), { pieces: [b] });
    await d.take(segment('a', 0), { pieces: [a] });
    assert.equal(await d.take(end('a'), none), sha(a));
    assert.equal(await d.take(end('b'), none), sha(b));
    assert.equal(await d.take(end('c'), none), sha());
  });

  it('gives none for segments out of order, a segment it cannot read, or an aborted stream', async () => {
    const d = new StreamDigests();
    await d.take(start('gap'), none);
    await d.take(segment('gap', 1), { pieces: [randomBytes(3)] });
    assert.equal(await d.take(end('gap'), none), undefined);
    await d.take(start('unreadable'), none);
    await d.take(segment('unreadable', 0), { path: join(tmpdir(), 'no-such-ddmw-segment') });
    assert.equal(await d.take(end('unreadable'), none), undefined);
    await d.take(start('aborted'), none);
    const abort = new Telegram(STREAM_TOPICS.abort, { XferId: 'aborted', Reason: 'x' });
    await d.take(encodeTelegram(abort), none);
    assert.equal(await d.take(end('aborted'), none), undefined);
  });

  it('gives none for a stream it never saw start, nor for other transfers', async () => {
    const d = new StreamDigests();
    await d.take(segment('late', 0), { pieces: [randomBytes(3)] });
    assert.equal(await d.take(end('late'), none), undefined);
    const msg = encodeTelegram(new Telegram('Msg', { _Ch: '1', XferId: 'm', Len: 1 }));
    assert.equal(await d.take(msg, { pieces: [Buffer.from('x')] }), undefined);
    assert.equal(await d.take(Buffer.from('Strm garbage'), none), undefined);
  });

  it('forgets the least recently active stream beyond its limit', async () => {
    const d = new StreamDigests(2);
    await d.take(start('a'), none);
    await d.take(start('b'), none);
    await d.take(segment('a', 0), none); // a is now the more recently active
    await d.take(start('c'), none); // b goes
    assert.equal(await d.take(end('b'), none), undefined);
    assert.equal(await d.take(end('a'), none), sha());
    assert.equal(await d.take(end('c'), none), sha());
  });

  it('takes a restarted stream afresh without forgetting another', async () => {
    const d = new StreamDigests(2);
    const x = randomBytes(5);
    await d.take(start('a'), none);
    await d.take(start('b'), none);
    await d.take(segment('a', 0), { pieces: [randomBytes(5)] });
    await d.take(start('a'), none);
    await d.take(segment('a', 0), { pieces: [x] });
    assert.equal(await d.take(end('a'), none), sha(x));
    assert.equal(await d.take(end('b'), none), sha());
  });

  it(`forgets a stream nothing came for in ${STREAM_IDLE_MS} ms`, async () => {
    let now = 0;
    const d = new StreamDigests(10, () => now);
    await d.take(start('quiet'), none);
    await d.take(start('busy'), none);
    now = STREAM_IDLE_MS - 1;
    await d.take(segment('busy', 0), none);
    now = STREAM_IDLE_MS;
    await d.take(start('new'), none);
    assert.equal(await d.take(end('quiet'), none), undefined);
    assert.equal(await d.take(end('busy'), none), sha());
  });

  it('gives none for stream transfers without a transfer id', async () => {
    const d = new StreamDigests();
    const bare = (topic: string, params = {}) => encodeTelegram(new Telegram(topic, params));
    await d.take(bare(STREAM_TOPICS.start, { _Ch: '1', Cmd: 0 }), none);
    await d.take(bare(STREAM_TOPICS.segment, { Seq: 0 }), { pieces: [randomBytes(3)] });
    assert.equal(await d.take(bare(STREAM_TOPICS.end, { Len: 3, Segs: 1 }), none), undefined);
  });

  it('remembers nothing of a transfer of another Strm* topic for a stream it does not follow', async () => {
    const d = new StreamDigests();
    const ghost = encodeTelegram(new Telegram('StrmX', { XferId: 'ghost' }));
    await d.take(ghost, { pieces: [randomBytes(3)] });
    await d.take(start('a'), none); // looks through what it follows for idle streams
    assert.equal(await d.take(end('a'), none), sha());
    assert.equal(await d.take(end('ghost'), none), undefined);
  });

  it('keeps a stream when a transfer of another Strm* topic names it', async () => {
    const d = new StreamDigests();
    const x = randomBytes(8);
    await d.take(start('a'), none);
    await d.take(segment('a', 0), { pieces: [x] });
    const odd = encodeTelegram(new Telegram('StrmX', { XferId: 'a' }));
    assert.equal(await d.take(odd, { pieces: [randomBytes(3)] }), undefined);
    assert.equal(await d.take(end('a'), none), sha(x));
  });
});

describe("the link's receiving end", () => {
  const spool = reassemblersForFile();

  it('posts the digest with the end of a stream, its segments spooled or in memory', async () => {
    const { r, events, link } = spool.start({ memoryLimit: 1000 });
    const parts = [randomBytes(800), randomBytes(5000)]; // in memory, then in a spool file
    const transfers: [Buffer, Buffer][] = [
      [start('s'), Buffer.alloc(0)],
      [segment('s', 0), parts[0] as Buffer],
      [segment('s', 1), parts[1] as Buffer],
      [end('s'), Buffer.alloc(0)],
    ];
    for (const [i, [header, data]] of transfers.entries())
      for (const f of dataFrames(link, i + 1, header, data)) r.accept(f);
    await waitFor(
      '4 transfers posted',
      () => events.length >= 4,
      20_000,
      () => JSON.stringify(events),
    );
    const digests = events.map((e) => (e.type === 'complete' ? e.digest : e.type));
    assert.deepEqual(digests, [undefined, undefined, undefined, sha(...parts)]);
    await contentOf(events[2]); // removes the spool file
  });
});

describe('the receiver node at the end of a stream', () => {
  /** A router with one subscriber, whose outlet's writes are collected as text. */
  function routed() {
    const stats = newStats();
    const discarded: Discarded[] = [];
    const written: string[] = [];
    let outlet: StreamOutlet | undefined;
    const router = new StreamRouter({
      outlets: (_ch, startTg, xferId) => {
        outlet = new StreamOutlet(startTg, xferId, 1 << 20, { overflow() {}, buffered() {} });
        void outlet.writeTo(
          async (chunks) => {
            written.push(Buffer.concat(chunks).toString('latin1'));
          },
          () => false,
        );
        return [outlet];
      },
      stats,
      log: undefined,
      onDiscard: (d) => discarded.push(d),
    });
    return { router, stats, discarded, written };
  }
  const tg = (bytes: Buffer) => decodeHeader(bytes);
  const memory = (chunks: Buffer[]) => ({
    kind: 'memory' as const,
    chunks,
    size: chunks.reduce((n, c) => n + c.length, 0),
  });
  const endOf = (id: string, len: number, segs: number) =>
    encodeTelegram(new Telegram(STREAM_TOPICS.end, { XferId: id, Len: len, Segs: segs }));

  it("sends the link's digest to the subscribers", async () => {
    const { router, stats, written } = routed();
    const data = randomBytes(100);
    await router.arrive(1, await tg(start('s')), memory([]), undefined);
    await router.arrive(2, await tg(segment('s', 0)), memory([data]), undefined);
    // The link's digest goes out as it is: the node does not hash the stream itself.
    const digest = 'ab'.repeat(32);
    await router.arrive(3, await tg(endOf('s', 100, 1)), memory([]), digest);
    await waitFor('the StrmEnd written', () => written.some((w) => w.startsWith('StrmEnd')), 5000);
    assert.ok(written.includes(`StrmEnd\nLen 100\nSha256 ${digest}\n\n`));
    assert.equal(stats.transfersCorrupt, 0);
  });

  it('aborts a stream whose end comes without a digest, and counts it corrupt', async () => {
    const { router, stats, discarded, written } = routed();
    await router.arrive(1, await tg(start('s')), memory([]), undefined);
    await router.arrive(2, await tg(segment('s', 0)), memory([randomBytes(10)]), undefined);
    await router.arrive(3, await tg(endOf('s', 10, 1)), memory([]), undefined);
    await waitFor(
      'the StrmAbort written',
      () => written.some((w) => w.startsWith('StrmAbort')),
      5000,
    );
    assert.equal(stats.transfersCorrupt, 1);
    assert.equal(discarded[0]?.kind, 'corrupt');
    assert.match(discarded[0]?.reason ?? '', /has no sha-256 for it/);
    assert.ok(!written.some((w) => w.startsWith('StrmEnd')));
  });
});
