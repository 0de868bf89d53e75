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
import { MAX_HASHED_STREAMS, StreamDigests } from '../../src/sim/link/stream-digests.ts';
import { decodeHeader, STREAM_TOPICS } from '../../src/sim/link/transfer-header.ts';
import type { Discarded } from '../../src/sim/receiver/discarded.ts';
import { StreamOutlet, StreamRouter } from '../../src/sim/receiver/strm-delivery.ts';
import { newStats } from '../../src/sim/stats.ts';
import { waitFor } from '../helpers/deadline.ts';

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

  it(`forgets the oldest stream beyond ${MAX_HASHED_STREAMS} at once`, async () => {
    const d = new StreamDigests();
    for (let i = 0; i <= MAX_HASHED_STREAMS; i++) await d.take(start(`s${i}`), none);
    assert.equal(await d.take(end('s0'), none), undefined);
    assert.equal(await d.take(end('s1'), none), sha());
    assert.equal(await d.take(end(`s${MAX_HASHED_STREAMS}`), none), sha());
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
    await router.arrive(3, await tg(endOf('s', 100, 1)), memory([]), sha(data));
    await waitFor('the StrmEnd written', () => written.some((w) => w.startsWith('StrmEnd')), 5000);
    assert.ok(written.includes(`StrmEnd\nLen 100\nSha256 ${sha(data)}\n\n`));
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
    assert.match(discarded[0]?.reason ?? '', /could not compute its sha-256/);
    assert.ok(!written.some((w) => w.startsWith('StrmEnd')));
  });
});
