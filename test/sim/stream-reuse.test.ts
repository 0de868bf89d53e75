/**
 * The receiver node gives a stream segment's memory back to the link for
 * reuse, as it does a message's: only once every subscriber it went to has
 * handed its bytes to the system or dropped them. Given back too early, a
 * later transfer would overwrite bytes a slow subscriber has yet to get;
 * never given back, a budgeted segment's bytes would stay lent. A segment
 * spooled to a file is read into memory of its own, and its file goes at once.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeTelegram, Telegram } from '../../src/blather/index.ts';
import type { Connection } from '../../src/conn/index.ts';
import { recv, subscribe } from '../../src/msg/index.ts';
import { type Simulator, startSimulator } from '../../src/sim/index.ts';
import { decodeHeader, STREAM_TOPICS } from '../../src/sim/link/transfer-header.ts';
import type { Spooled } from '../../src/sim/node/spool.ts';
import { StreamOutlet, StreamRouter } from '../../src/sim/receiver/strm-delivery.ts';
import { newStats } from '../../src/sim/stats.ts';
import { open, type StreamEvent } from '../../src/strm/index.ts';
import { closedAfterFile } from '../helpers/closed-after.ts';
import { waitFor, within } from '../helpers/deadline.ts';
import { sha } from '../helpers/sha.ts';

const header = (topic: string, params: Record<string, string | number>) =>
  decodeHeader(encodeTelegram(new Telegram(topic, params)));

/** Data in memory whose release is recorded: `true` for reusable, `false` for dropped. */
function memory(bytes: Buffer) {
  const freed: boolean[] = [];
  const data = {
    kind: 'memory' as const,
    chunks: [bytes],
    size: bytes.length,
    onFree: (reusable: boolean) => freed.push(reusable),
  };
  return { data, freed };
}

/** A writer whose writes of a segment (a `Chunk` telegram and its pieces) complete only when `finishAll` is called. */
function heldWriter() {
  const pending: (() => void)[] = [];
  const write = async (chunks: Buffer[], flushed?: boolean) => {
    if (chunks.length === 1) return;
    // Flushed: the write completes once the system has the bytes, not while the socket still refers to them.
    assert.equal(flushed, true, 'a segment written without asking for it to be flushed');
    await new Promise<void>((resolve) => pending.push(resolve));
  };
  const finishAll = () => {
    for (const resolve of pending.splice(0)) resolve();
  };
  return { write, pending, finishAll };
}

/** A router whose streams go to `count` outlets (they start writing only when told). */
function router(count: number) {
  const outlets: StreamOutlet[] = [];
  const r = new StreamRouter({
    outlets: (_ch, start, xferId) => {
      for (let i = 0; i < count; i++) {
        outlets.push(new StreamOutlet(start, xferId, 1 << 20, { overflow() {}, buffered() {} }));
      }
      return outlets;
    },
    stats: newStats(),
    log: undefined,
    onDiscard: () => {},
  });
  return { router: r, outlets };
}

const nothing = { kind: 'memory' as const, chunks: [], size: 0 };

/** Transfer `n`: the start of stream `id` on channel 1. */
async function startOf(r: StreamRouter, n: number, id: string): Promise<void> {
  await r.arrive(
    n,
    await header(STREAM_TOPICS.start, { _Ch: '1', XferId: id }),
    nothing,
    undefined,
  );
}

/** Transfer `n`: segment 0 of stream `id`, with `data`. */
async function segmentOf(r: StreamRouter, n: number, id: string, data: Spooled): Promise<void> {
  await r.arrive(n, await header(STREAM_TOPICS.segment, { XferId: id, Seq: 0 }), data, undefined);
}

describe("a stream segment's memory at the receiver node", () => {
  it('goes back for reuse once the last subscriber has written it, not before', async () => {
    const { router: r, outlets } = router(2);
    await startOf(r, 1, 's');
    const segment = memory(randomBytes(1000));
    await segmentOf(r, 2, 's', segment.data);
    assert.deepEqual(segment.freed, [], 'freed while queued for both subscribers');
    const [fast, slow] = [heldWriter(), heldWriter()];
    void outlets[0]?.writeTo(fast.write, () => false);
    void outlets[1]?.writeTo(slow.write, () => false);
    await waitFor(
      'both subscribers writing the segment',
      () => fast.pending.length + slow.pending.length === 2,
    );
    fast.finishAll();
    await waitFor('the fast subscriber done with the segment', () => fast.pending.length === 0);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(segment.freed, [], 'freed while the slow subscriber still writes it');
    slow.finishAll();
    await waitFor('the segment freed', () => segment.freed.length > 0);
    assert.deepEqual(segment.freed, [true]);
  });

  it('goes back when its stream is not open, and when a subscriber drops it unwritten', async () => {
    const { router: r, outlets } = router(1);
    const orphan = memory(randomBytes(10));
    await segmentOf(r, 1, 'x', orphan.data);
    assert.deepEqual(orphan.freed, [true]);

    await startOf(r, 2, 's');
    const queued = memory(randomBytes(10));
    await segmentOf(r, 3, 's', queued.data);
    const end = { XferId: 's', Len: 10, Segs: 1 };
    await r.arrive(4, await header(STREAM_TOPICS.end, end), nothing, 'ab'.repeat(32));
    assert.deepEqual(queued.freed, []);
    // The stream has ended, but its subscriber goes before writing it.
    outlets[0]?.release();
    assert.deepEqual(queued.freed, [true]);
  });

  it('of a segment spooled to a file is read into memory of its own, and the file goes at once', async () => {
    const { router: r, outlets } = router(1);
    await startOf(r, 1, 's');
    const dir = await mkdtemp(join(tmpdir(), 'ddmw-stream-reuse-'));
    try {
      const path = join(dir, 'segment');
      const bytes = randomBytes(5000);
      await writeFile(path, bytes);
      const spooled = { kind: 'file' as const, path, size: bytes.length };
      await segmentOf(r, 2, 's', spooled);
      assert.equal(
        existsSync(path),
        false,
        'the spool file is still there while the segment waits',
      );
      const written: Buffer[] = [];
      void outlets[0]?.writeTo(
        async (chunks) => {
          written.push(...chunks);
        },
        () => false,
      );
      await waitFor('the segment written', () => written.some((c) => c.equals(bytes)));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('streams to a fast and a slow subscriber through the simulator', () => {
  const APP = { name: 'app', pass: 'app-pass' };
  const MiB = 1024 * 1024;
  const files = closedAfterFile();
  let sim: Simulator;
  before(async () => {
    sim = await startSimulator({ accounts: [{ ...APP, perms: ['*'] }] });
  });
  after(() => sim.close());

  async function subscriber(): Promise<Connection> {
    const c = await files.open(sim.receiver.subif, { auth: APP });
    await subscribe(c, 1);
    return c;
  }

  async function readStream(sub: Connection, what: string): Promise<string> {
    const item = (await within(recv(sub, { streams: true }), 20_000, what)) as StreamEvent;
    assert.equal(item.kind, 'stream', what);
    const parts: Buffer[] = [];
    const reading = (async () => {
      for await (const chunk of item.stream) parts.push(chunk as Buffer);
    })();
    await within(reading, 20_000, `the bytes of ${what}`);
    return sha(Buffer.concat(parts));
  }

  it('gives the slow one every byte of every stream, however late it reads', async () => {
    const [fast, slow, out] = await Promise.all([
      subscriber(),
      subscriber(),
      files.open(sim.sender.msgif, { auth: APP }),
    ]);
    const payloads = [randomBytes(12 * MiB), randomBytes(12 * MiB), randomBytes(12 * MiB)];
    for (const [i, payload] of payloads.entries()) {
      const w = open(out, { ch: 1 });
      const sent = new Promise<void>((resolve, reject) => {
        w.once('finish', resolve);
        w.once('error', reject);
      });
      w.end(payload);
      // The fast subscriber reads each stream before the next is sent; the slow one reads none yet.
      assert.equal(await readStream(fast, `stream ${i + 1} at the fast subscriber`), sha(payload));
      await within(sent, 20_000, `the end of stream ${i + 1} acknowledged`);
    }
    for (const [i, payload] of payloads.entries()) {
      assert.equal(await readStream(slow, `stream ${i + 1} at the slow subscriber`), sha(payload));
    }
    assert.equal(sim.stats().slowSubscribersDropped, 0);
  });
});
